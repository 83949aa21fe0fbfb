"""Spends on a card: a redemption holds value (or uses, or a period card's check-in) until
its owner confirms it, which releases what the spend has earned the merchant, or until it is
rejected or expires. Each decision returns the events to append to the card.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.domain_errors import BusinessRuleViolation, Conflict, InvalidInput
from services.escrow.domain.card import PENDING, Card, Hold
from services.escrow.domain.events import (
    RedemptionConfirmed,
    RedemptionRequested,
    RedemptionVoided,
)


def request_redemption(
    card: Card,
    redemption_id: str,
    *,
    value: int = 0,
    uses: int = 0,
    now: datetime,
    hold_minutes: int,
) -> list:
    if already_requested(card, redemption_id, value=value, uses=uses):
        return []
    _, expires_at = card.require_active()
    if now >= expires_at:
        raise BusinessRuleViolation("the card has expired", "card_expired")
    kind = card.purchase.card_type
    if kind == "stored_value":
        if value <= 0 or uses:
            raise InvalidInput("a stored-value redemption takes a positive amount")
        available = card.value_left - card.reserved("value")
    elif kind == "count":
        if uses <= 0 or value:
            raise InvalidInput("a count-card redemption takes a positive number of uses")
        available = card.uses_left - card.reserved("uses")
    else:
        if value or uses:
            raise InvalidInput("a period-card check-in takes no amount")
        available = 1
    if max(value, uses) > available:
        raise BusinessRuleViolation(
            "insufficient balance", "insufficient_balance", {"available": available}
        )
    return [
        RedemptionRequested(
            card.card_id,
            card.purchase.merchant_id,
            redemption_id,
            value,
            uses,
            kind == "period",
            now.isoformat(),
            (now + timedelta(minutes=hold_minutes)).isoformat(),
        )
    ]


def already_requested(card: Card, redemption_id: str, *, value: int, uses: int) -> bool:
    """Whether the card holds `redemption_id` already: the same request executed again (a
    redelivered message, a client's retry), which appends nothing. The same id asking for
    another amount is another request under a reused identity, refused."""
    hold = card.holds.get(redemption_id)
    if hold is None:
        return False
    if (hold.value, hold.uses) != (value, uses):
        raise BusinessRuleViolation(  # as the gateway answers a key reused within its records
            "this Idempotency-Key was used for another redemption of the card",
            "idempotency_key_reused",
        )
    return True


def lapsed(expires_at: datetime, now: datetime) -> bool:
    """A hold not confirmed by its expiry time can no longer be: it is expired, swept or not."""
    return now >= expires_at


def _hold(card: Card, redemption_id: str) -> Hold:
    hold = card.holds.get(redemption_id)
    if hold is None:
        raise InvalidInput(f"no redemption {redemption_id} on this card")
    return hold


def confirm_redemption(card: Card, redemption_id: str, now: datetime) -> list:
    """The owner's confirmation: the hold's money moves to the merchant, exactly once. A
    confirmation that arrives after the hold's expiry voids it instead."""
    hold = _hold(card, redemption_id)
    if hold.status == "confirmed":
        return []
    if hold.status != PENDING:
        raise Conflict(f"the redemption was {hold.status}", "redemption_not_pending")
    if lapsed(hold.expires_at, now):
        return [RedemptionVoided(card.card_id, redemption_id, "expired", now.isoformat())]
    # A confirmed spend ends cooling-off, so the held up-front share goes with it; a check-in
    # releases nothing else (a period card's days are released by time).
    release = card.due(
        value_used=card.value_used + hold.value, uses_used=card.uses_used + hold.uses
    )
    return [
        RedemptionConfirmed(
            card.card_id,
            card.purchase.merchant_id,
            card.purchase.consumer_id,
            redemption_id,
            release,
            now.isoformat(),
        )
    ]


def void_redemption(card: Card, redemption_id: str, reason: str, now: datetime) -> list:
    """`rejected` by the owner, or `expired` once the hold's time has passed."""
    hold = _hold(card, redemption_id)
    if hold.status == reason:
        return []
    if hold.status != PENDING:
        raise Conflict(f"the redemption was {hold.status}", "redemption_not_pending")
    if reason == "expired" and now < hold.expires_at:
        return []
    return [RedemptionVoided(card.card_id, redemption_id, reason, now.isoformat())]
