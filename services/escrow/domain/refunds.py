"""Refunds by rule: cooling-off, on request, at expiry, and on the merchant's default.

A refund returns what is still held once everything earned has been released, which is the
per-type formula of domain-rules.md: P x remaining value / (P + B), P x remaining uses / N,
P x unserved days / D. A stored-value card refunded on request may instead be settled at list
price (`stored_value_formula="list_price"`): value consumed counts a fen of price per fen,
and the bonus is void.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.domain_errors import BusinessRuleViolation, InvalidInput
from services.escrow.domain.card import PENDING, Card
from services.escrow.domain.events import CardRefunded, FundsReleased, RedemptionVoided

REFUND_RULES = ("cooling_off", "on_request", "expiry", "merchant_default")
CONSUMER_RULES = ("cooling_off", "on_request")
"""The rules a card's owner may ask for; the others are the platform's."""


def refund_as_asked(
    card: Card,
    rule: str | None,
    now: datetime,
    *,
    cooling_off_days: int,
    stored_value_formula: str = "pro_rata",
) -> list:
    """The refund by `rule`, or with no rule (the owner's own request) the best one that
    applies: cooling-off (the whole price) while it does, on request otherwise. The refund
    and its quote both take this decision, so a quote is what the refund would do."""
    options = [rule] if rule else list(CONSUMER_RULES)
    for option in options:
        try:
            return refund(
                card,
                option,
                now,
                cooling_off_days=cooling_off_days,
                stored_value_formula=stored_value_formula,
            )
        except BusinessRuleViolation:
            if option == options[-1]:
                raise
    raise AssertionError("unreachable: the last option returned or raised")


def refund(
    card: Card,
    rule: str,
    now: datetime,
    *,
    cooling_off_days: int,
    stored_value_formula: str = "pro_rata",
) -> list:
    """The refund by `rule`, with its formula's inputs. Open holds are voided and anything
    the merchant has earned is released first, so the refund is exactly what remains."""
    if rule not in REFUND_RULES:
        raise InvalidInput(f"rule must be one of {', '.join(REFUND_RULES)}")
    activated_at, expires_at = card.require_active()
    p, stamp = card.purchase, now.isoformat()
    events: list = [
        RedemptionVoided(card.card_id, h.redemption_id, "voided", stamp)
        for h in card.holds.values()
        if h.status == PENDING
    ]
    inputs = {
        "price": p.price,
        "bonus": p.bonus,
        "card_type": p.card_type,
        "value_used": card.value_used,
        "uses_used": card.uses_used,
        "uses": p.uses,
        "period_days": p.period_days,
        "days_elapsed": card.days_elapsed(now),
        "released_before": card.released,
        "formula": "pro_rata",
    }
    if rule == "cooling_off":
        age_days = (now - activated_at).days
        used = any(h.status == "confirmed" for h in card.holds.values())
        ends = card.cooling_off_ends_at or activated_at + timedelta(days=cooling_off_days)
        if used or now > ends:
            raise BusinessRuleViolation(
                f"cooling-off refunds are for unused cards within {cooling_off_days} days",
                "cooling_off_not_applicable",
                {"used": used, "age_days": age_days},
            )
        inputs.update(age_days=age_days, cooling_off_days=cooling_off_days)
    elif rule == "expiry" and now < expires_at:
        raise BusinessRuleViolation("the card has not expired yet", "not_expired")
    release, reason = 0, ""
    if rule == "cooling_off" or card.cooling_off_holds_money(now):
        pass  # inside the window nothing of the card is the merchant's
    elif p.card_type == "period":
        release, reason = card.due(days=card.days_elapsed(now)), "period_elapsed"
    elif (
        p.card_type == "stored_value"
        and stored_value_formula == "list_price"
        and rule == "on_request"
    ):
        # Value consumed at list price, bonus void: a fen of price per fen of value used.
        inputs["formula"] = "list_price"
        release = min(
            max(0, max(min(card.value_used, p.price), card.upfront_share) - card.released),
            card.held,
        )
        reason = "list_price_refund"
    else:
        release, reason = card.due(), "cooling_off_ended"  # an up-front share not yet paid
    if release:
        events.append(
            FundsReleased(
                card.card_id,
                p.merchant_id,
                release,
                reason,
                card.days_elapsed(now) if p.card_type == "period" else 0,
                stamp,
            )
        )
    events.append(
        CardRefunded(
            card.card_id, p.merchant_id, p.consumer_id, rule, card.held - release, inputs, stamp
        )
    )
    return events
