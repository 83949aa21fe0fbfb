"""The card streams: a card is loaded from its stream, decided on, and its new events are
committed at the version it was read at, with their views, in one unit of work.

A concurrent command on the same card makes the append fail, and the decision is taken again
on the fresh card (`CARD_RETRY`). The domain's decisions are idempotent, so racing
confirmations of one hold all see one release and return the same answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eventstore import EventStore, RecordedEvent, UnitOfWork
from eventstore.codec import EventCodec
from services import event_sourcing
from services.domain_errors import NotFound
from services.escrow.application import projections
from services.escrow.domain.card import Card
from services.escrow.domain.events import ESCROW_EVENTS

CODEC = EventCodec(ESCROW_EVENTS)
CARD_RETRY = event_sourcing.RetryPolicy(50, "the card is too busy; retry", "card_busy")
"""Decisions on a card are idempotent, so a lost race is decided again on the fresh card."""


def card_stream(card_id: str) -> str:
    return f"card-{card_id}"


@dataclass(frozen=True)
class DecidedCard:
    """What `decide` did: the card as committed (or as read, when the decision had nothing
    to do), the new events and their ids, and the card's stream as read before them."""

    card: Card
    events: list
    event_ids: list[str]
    history: list[RecordedEvent]


def load_card(store: EventStore, card_id: str) -> Card:
    """The card folded from its stream; NotFound when it has none."""
    return _read(store, card_id)[0]


def _read(store: EventStore, card_id: str) -> tuple[Card, list[RecordedEvent]]:
    records = store.read_stream(card_stream(card_id))
    if not records:
        raise NotFound(f"no card {card_id}")
    return Card.from_events(card_id, (CODEC.decode(r) for r in records)), records


def append_card(uow: UnitOfWork, card: Card, events: Sequence[object], metadata: dict) -> list[str]:
    """Inside the caller's unit of work: appends the card's new events at the version it was
    read at and projects them (the card moves on with them); returns the event ids."""
    encoded = [CODEC.encode(e, metadata) for e in events]
    uow.append(card_stream(card.card_id), encoded, card.version)
    projections.project(uow, card, events)
    return [e.id for e in encoded]


def commit(store: EventStore, card: Card, events: Sequence[object], metadata: dict) -> list[str]:
    """Appends and projects the events in one unit of work; returns the event ids."""
    with store.unit_of_work() as uow:
        return append_card(uow, card, events, metadata)


def decide(
    store: EventStore,
    card_id: str,
    decision: Callable[[Card], Sequence[object]],
    metadata: dict | None = None,
    retry: event_sourcing.RetryPolicy = CARD_RETRY,
) -> DecidedCard:
    """Loads the card, takes the decision and commits it, until the commit holds or the
    retry policy gives up (409 `card_busy`). Domain errors from the decision pass through."""
    done = event_sourcing.run(
        lambda: _read(store, card_id),
        lambda read: decision(read[0]),
        lambda read, events: commit(store, read[0], events, metadata or {}),
        retry,
    )
    card, history = done.aggregate
    return DecidedCard(card, list(done.events), done.committed or [], history)
