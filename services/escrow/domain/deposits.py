"""The card's payment: the bank's deposit confirmed (the card activates and its cooling-off
window opens), returned when the card cannot be activated, or abandoned when the bank never
took it. Each decision returns the events to append to the card.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.domain_errors import BusinessRuleViolation, Conflict
from services.escrow.domain.card import Card
from services.escrow.domain.events import (
    CoolingOffStarted,
    DepositConfirmed,
    DepositReturned,
    PaymentAbandoned,
)


def confirm_deposit(
    card: Card, payment_id: str, amount: int, now: datetime, *, cooling_off_days: int
) -> list:
    """The whole amount is held at first; the up-front share of an escrow ratio below 100%
    is released when the cooling-off window closes or a spend ends it."""
    p = card.purchase
    if card.status == "abandoned":  # the caller returns money the bank took after all
        raise BusinessRuleViolation(
            "the payment was abandoned before the bank took it", "payment_abandoned"
        )
    if card.status != "pending_payment":
        if p.payment_id == payment_id and card.deposited == amount and not card.returned:
            return []  # the bank confirming twice changes nothing
        raise Conflict(f"the card is {card.status}", "card_not_pending")
    if payment_id != p.payment_id or amount != p.price:
        raise BusinessRuleViolation(
            "the payment does not match the card",
            "payment_mismatch",
            {"expected": p.price, "got": amount},
        )
    escrowed = p.price * p.escrow_ratio_percent // 100
    days = p.period_days if p.card_type == "period" else p.validity_days
    return [
        DepositConfirmed(
            card.card_id,
            p.merchant_id,
            payment_id,
            amount,
            amount,
            0,
            now.isoformat(),
            (now + timedelta(days=days)).isoformat(),
        ),
        CoolingOffStarted(
            card.card_id,
            p.merchant_id,
            amount - escrowed,
            now.isoformat(),
            (now + timedelta(days=cooling_off_days)).isoformat(),
        ),
    ]


def return_deposit(card: Card, payment_id: str, amount: int, reason: str, now: datetime) -> list:
    """The bank took `amount` but the card cannot be activated: all of it goes back. Only a
    card still waiting for its payment, or one abandoned before the bank took it; one the
    bank's other confirmation activated, or that went back already, changes nothing."""
    p = card.purchase
    if (
        card.status not in ("pending_payment", "abandoned")
        or payment_id != p.payment_id
        or amount <= 0
    ):
        return []
    return [
        DepositReturned(
            card.card_id, p.merchant_id, p.consumer_id, payment_id, amount, reason, now.isoformat()
        )
    ]


def abandon_payment(card: Card, reason: str, now: datetime) -> list:
    """The bank never took the payment: the card closes unissued. Only a card still waiting
    for its payment; one activated or returned meanwhile changes nothing."""
    p = card.purchase
    if card.status != "pending_payment":
        return []
    return [
        PaymentAbandoned(
            card.card_id, p.merchant_id, p.consumer_id, p.payment_id, reason, now.isoformat()
        )
    ]
