"""The arguments of the platform's durable queues, and the error a parked message carries.

RabbitMQ refuses (406 PRECONDITION_FAILED, "inequivalent arg") a queue declared again with
other arguments than it has, so every declarer of a platform queue (its nameko handler, the
ledger, the outbox relays, `python -m messaging.park`) takes them from `queue_arguments`.

Each queue `<q>` has a parking queue `<q>.parked` of the same type. A handler that fails on
one message `[consumers] delivery_limit` times parks it there itself, with its error
(messaging.consumer); the queue's dead-letter target is the same parking queue, so should
that fail, the broker moves the message there one delivery later (quorum queues count
deliveries, `x-delivery-limit`), without the error.

Stdlib only (and the policy's values).
"""

from __future__ import annotations

from policy import ConsumerRules

PARKED_SUFFIX = ".parked"

DELIVERY_COUNT = "x-delivery-count"
"""The header a quorum queue sets on a redelivery: how many deliveries came back before."""

# Headers a parked message carries, beside its own.
PARKED_FROM = "x-parked-from"
PARKED_ERROR_TYPE = "x-parked-error-type"
PARKED_ERROR = "x-parked-error"
PARKED_FAILURES = "x-parked-failures"
PARKED_AT = "x-parked-at"
PARK_HEADERS = (PARKED_FROM, PARKED_ERROR_TYPE, PARKED_ERROR, PARKED_FAILURES, PARKED_AT)
BROKER_HEADERS = (
    DELIVERY_COUNT,
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
)

MAX_ERROR_TYPE_BYTES = 255


def parked_queue_name(queue: str) -> str:
    return queue + PARKED_SUFFIX


def original_queue_name(parked_queue: str) -> str:
    if not parked_queue.endswith(PARKED_SUFFIX):
        raise ValueError(f"{parked_queue!r} is not a parking queue (no {PARKED_SUFFIX} suffix)")
    return parked_queue[: -len(PARKED_SUFFIX)]


NEVER_PARKED = frozenset({"ledger.notary"})
"""Queues with no delivery limit. The ledger's appends are idempotent by event id and in no
order, and they fail as a batch when the ledger's file or lease fails, which passes: a limit
would move the whole backlog of a short outage into the parking queue, silently, leaving gaps
in the ledger. (ledger/service.py NOTARY_QUEUE; a test keeps the two names alike.)"""


def queue_arguments(queue: str, rules: ConsumerRules) -> dict:
    """The `x-arguments` of the platform queue `queue`."""
    arguments: dict = {
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": parked_queue_name(queue),
    }
    if rules.queue_type == "quorum":
        arguments["x-queue-type"] = "quorum"
        if queue not in NEVER_PARKED:
            arguments["x-delivery-limit"] = rules.delivery_limit
    return arguments


def parked_queue_arguments(rules: ConsumerRules) -> dict:
    """A parking queue: the same type, and no delivery limit nor dead-lettering of its own."""
    return {"x-queue-type": "quorum"} if rules.queue_type == "quorum" else {}


def failures_so_far(headers: dict | None) -> int:
    """How many deliveries of this message failed before this one (0 on the first)."""
    count = (headers or {}).get(DELIVERY_COUNT, 0)
    return count if isinstance(count, int) and count > 0 else 0


def bounded(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` of UTF-8, never inside a character."""
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    marker = "…"
    room = max(0, max_bytes - len(marker.encode()))
    return raw[:room].decode("utf-8", errors="ignore") + marker


def error_headers(exc: BaseException, rules: ConsumerRules) -> dict:
    """The exception's type and text as headers, each bounded so that the headers stay far
    below the broker's frame_max whatever the exception says."""
    kind = type(exc)
    return {
        PARKED_ERROR_TYPE: bounded(f"{kind.__module__}.{kind.__qualname__}", MAX_ERROR_TYPE_BYTES),
        PARKED_ERROR: bounded(str(exc), rules.max_error_bytes),
    }


def replay_headers(headers: dict | None) -> dict:
    """A parked message's headers as it goes back to its queue: without the parking's and the
    broker's own."""
    return {k: v for k, v in (headers or {}).items() if k not in PARK_HEADERS + BROKER_HEADERS}


def inequivalent_hint(queue: str, rules: ConsumerRules) -> str:
    """What to do when the broker already has `queue` with other arguments (a classic queue
    from before the platform declared quorum ones)."""
    return (
        f"RabbitMQ already has queue {queue!r} with other arguments than the policy's"
        f" [consumers] (queue_type={rules.queue_type!r}, delivery_limit={rules.delivery_limit})."
        f" Migrate it: stop its consumers and relays, move any messages out (e.g. a shovel to a"
        f" temporary queue), delete it (rabbitmqctl delete_queue {queue}), then start them again;"
        f" or set the policy's [consumers] to what the broker has."
    )
