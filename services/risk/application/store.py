"""The risk service's event-sourced loop for complaints and alerts: load, decide, commit.

`decide` runs the shared loop (services.event_sourcing) with risk's policy: no retry, the
first concurrent writer wins and the other's client sees 409 `version_conflict`. `commit`
appends at the version read and projects, in one unit of work; a complaint's commit also
reassesses its merchant there (`within`), so a complaint and the code it moves agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from eventstore import EventStore, UnitOfWork
from eventstore.codec import EventCodec
from privacy import Forgotten, Vault
from services.domain_errors import BusinessRuleViolation, NotFound
from services.event_sourcing import Decided, RetryPolicy, run
from services.risk.application import projections
from services.risk.domain.complaints import Alert, Complaint
from services.risk.domain.events import RISK_EVENTS, AlertOpened

CODEC = EventCodec(RISK_EVENTS)
COMPLAINT_NO_RETRY = RetryPolicy(1, "the complaint changed meanwhile; retry")
"""services.event_sourcing.NO_RETRY, in the complaint's words."""
ALERT_NO_RETRY = RetryPolicy(1, "the alert changed meanwhile; retry")
TEXT, RESPONSE = "complaint_text", "complaint_response"
"""The vault purposes of a complaint's text and the merchant's response, both encrypted with
the complaining consumer's key."""
RATING_TEXT = "rating_text"
"""The vault purpose of a rating's text, encrypted with the rating consumer's key."""

Aggregate = TypeVar("Aggregate", Complaint, Alert)
Loader = Callable[[EventStore, str], Aggregate]


def complaint_stream(complaint_id: str) -> str:
    return f"complaint-{complaint_id}"


def alert_stream(alert_id: str) -> str:
    """The regulator's steps on an alert; its opening is in the merchant's health stream."""
    return f"alert-{alert_id}"


def opening_stream(alert_id: str) -> str:
    """The opening of an alert that no code change opened (an escalated complaint, a
    reconciliation difference)."""
    return f"alert-opened-{alert_id}"


def code_stream(merchant_id: str) -> str:
    """A merchant's code changes and the alerts they open."""
    return f"health-{merchant_id}"


def delisting_stream(merchant_id: str) -> str:
    return f"delisting-{merchant_id}"


def load_complaint(store: EventStore, complaint_id: str) -> Complaint:
    complaint = Complaint(complaint_id)
    for record in store.read_stream(complaint_stream(complaint_id)):
        complaint.apply(CODEC.decode(record))
    if complaint.status == "none":
        raise NotFound(f"no complaint {complaint_id}")
    return complaint


def load_alert(store: EventStore, alert_id: str) -> Alert:
    view = store.get_view(projections.ALERTS, alert_id)
    if view is None:
        raise NotFound(f"no alert {alert_id}")
    alert = Alert(alert_id)
    alert.apply(
        AlertOpened(
            view["alert_id"],
            view["merchant_id"],
            view["code"],
            view["reasons"],
            view["opened_at"],
            view["improve_by"],
        )
    )
    for record in store.read_stream(alert_stream(alert_id)):
        alert.apply(CODEC.decode(record))
    return alert


def _stream_at(aggregate: Complaint | Alert) -> tuple[str, int]:
    """The aggregate's stream and the version it was read at."""
    if isinstance(aggregate, Complaint):
        return complaint_stream(aggregate.complaint_id), aggregate.version
    # The alert's version counts its opening, which is not in the alert's own stream.
    return alert_stream(aggregate.alert_id), aggregate.version - 1


Within = Callable[[UnitOfWork, Sequence[object]], None]
"""Work done in a commit's unit of work, with the events committed."""


def commit(
    store: EventStore,
    aggregate: Aggregate,
    events: Sequence[object],
    metadata: dict | None,
    *,
    within: Within | None = None,
) -> Aggregate:
    """Appends `events` at the version the complaint or alert was read at and projects them,
    in one unit of work; returns it with the events applied. `within(uow, events)` runs in
    the same unit of work, after the append, which holds the store's write lock: what it
    reads and writes is not raced, and raising rolls everything back. A concurrent writer
    makes it raise ConcurrencyError."""
    stream, version = _stream_at(aggregate)
    with store.unit_of_work() as uow:
        uow.append(stream, [CODEC.encode(e, metadata or {}) for e in events], version)
        projections.project(uow, aggregate, events)
        if within is not None:
            within(uow, events)
    return aggregate


def decide(
    store: EventStore,
    aggregate_id: str,
    decision: Callable[[Aggregate], Sequence[object]],
    metadata: dict | None,
    retry: RetryPolicy = COMPLAINT_NO_RETRY,
    *,
    # mypy cannot tie a generic parameter's default to one of the TypeVar's types
    load: Loader[Aggregate] = load_complaint,  # type: ignore[assignment]
    within: Within | None = None,
) -> Decided[Aggregate, Aggregate]:
    """Loads the complaint (or, with `load=load_alert`, the alert), asks `decision` for its
    events and commits them (see `run`); `within` as for `commit`."""
    return run(
        lambda: load(store, aggregate_id),
        decision,
        lambda aggregate, events: commit(store, aggregate, events, metadata, within=within),
        retry,
    )


def events_of(event: object | None) -> list[object]:
    """A domain decision that answers one event or None (nothing to do), as a list."""
    return [] if event is None else [event]


def seal(vault: Vault, consumer_id: str, purpose: str, text: str) -> str:
    """Encrypted with the consumer's key; a consumer who had their data erased has none, and
    none is made again (the erasure stands)."""
    try:
        return vault.encrypt(consumer_id, purpose, text)
    except Forgotten:
        raise BusinessRuleViolation(
            "this consumer's personal data was erased at their request; "
            "no new text can be kept for them",
            "personal_data_erased",
        ) from None
