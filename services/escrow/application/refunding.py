"""The owner's refund of a card (the scheduled work's and a default's refunds are theirs)."""

from __future__ import annotations

from datetime import datetime

from eventstore import EventStore
from policy import Policy
from services.domain_errors import DomainError, NotFound
from services.escrow.application import bank_instructions, request_ids
from services.escrow.application.ports import Bank
from services.escrow.application.store import CODEC, card_stream, decide, load_card
from services.escrow.domain import refunds
from services.escrow.domain.card import Card
from services.escrow.domain.refund_due import refund_due_on


def refund_card(
    card_id: str,
    consumer_id: str | None,
    *,
    rule: str | None,
    store: EventStore,
    bank: Bank,
    policy: Policy,
    now: datetime,
    metadata: dict | None = None,
    request_id: str | None = None,
) -> dict:
    """`rule=None` is the consumer's own request: cooling-off when it applies (the whole
    principal), on request otherwise. Executed again under its `request_id`, it answers as
    the first execution did; another request for a refunded card is refused."""
    card = load_card(store, card_id)
    if consumer_id is not None and card.purchase.consumer_id != consumer_id:
        raise NotFound(f"no card {card_id}")

    refund_policy = policy.refunds

    def decision(c: Card) -> list:
        return refunds.refund_as_asked(
            c,
            rule,
            now,
            cooling_off_days=refund_policy.cooling_off_days,
            stored_value_formula=refund_policy.stored_value_formula,
        )

    try:
        done = decide(store, card_id, decision, request_ids.with_request_id(metadata, request_id))
    except DomainError:
        first = request_ids.recorded_by(
            store.read_stream(card_stream(card_id)), request_id, "escrow.CardRefunded.v1"
        )
        if first is None:
            raise
        refunded, event_id, status = CODEC.decode(first), first.id, load_card(store, card_id).status
    else:
        refunded, event_id, status = done.events[-1], done.event_ids[-1], done.card.status
    # Sent again on a repeat: the first execution may have died before it; the bank takes a
    # reference once.
    bank_instructions.send(
        store, bank, [bank_instructions.key_of("refund", card.purchase.payment_id, card_id)]
    )
    due = refund_due_on(refunded.rule, datetime.fromisoformat(refunded.refunded_at), refund_policy)
    return {
        "status": status,
        "refund_amount": refunded.refund_amount,
        "rule": refunded.rule,
        "event_id": event_id,
        "due_on": due.isoformat(),
    }
