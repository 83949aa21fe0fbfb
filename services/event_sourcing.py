"""The loop every event-sourced service runs, with one vocabulary:

    load   the aggregate from its stream (it knows the version it was read at);
    decide ask the domain for new events (none means nothing to do);
    commit append them at the version read and project them, in one unit of work.

A concurrent writer makes the append fail with `ConcurrencyError`. What happens then is the
caller's retry policy: the escrow decides again on the fresh card (its decisions are
idempotent, so racing confirmations of one hold all see one release), while the merchant and
risk services answer 409 and let the client retry. Each service's `application/store.py` wraps
this with its own `load_*`, `decide` and `commit`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from eventstore.errors import ConcurrencyError
from services.domain_errors import Conflict

A = TypeVar("A")
R = TypeVar("R")


@dataclass(frozen=True)
class RetryPolicy:
    """How often a decision is tried against a concurrent writer, and the 409 after that."""

    attempts: int
    message: str = "the record changed meanwhile; retry"
    code: str = "version_conflict"

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a decision is tried at least once")


NO_RETRY = RetryPolicy(1)
"""The first concurrent writer wins; the loser's client sees 409 `version_conflict`."""


@dataclass(frozen=True)
class Decided(Generic[A, R]):
    """What one run of the loop did: the aggregate as committed (or as read, when the
    decision had nothing to do), the new events, and what `commit` returned."""

    aggregate: A
    events: Sequence[object]
    committed: R | None


def run(
    load: Callable[[], A],
    decide: Callable[[A], Sequence[object]],
    commit: Callable[[A, Sequence[object]], R],
    retry: RetryPolicy,
) -> Decided[A, R]:
    """Loads, decides and commits until the commit holds or the policy's attempts run out
    (then `Conflict` with the policy's code). Domain errors from `decide` pass through."""
    for _ in range(retry.attempts):
        aggregate = load()
        events = list(decide(aggregate))
        if not events:
            return Decided(aggregate, [], None)
        try:
            return Decided(aggregate, events, commit(aggregate, events))
        except ConcurrencyError:
            continue
    raise Conflict(retry.message, retry.code)
