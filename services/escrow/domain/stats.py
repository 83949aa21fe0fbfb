"""A merchant's money figures, as the sum over its cards of what each card contributes.

Each card's contribution is a pure function of the card's state, which is itself a fold of
the card's events. The projection adds (after - before) for every command, in the command's
own unit of work, so the totals are exact at every commit and can be rebuilt from the events
alone by summing the contributions of every card.

* issuance: cards paid for, and the money deposited for them;
* redemption: money released to the merchant by confirmed spends and elapsed days (the share
  paid up front under an escrow ratio below 100% is counted apart, as `upfront_paid`);
* refunds: cards refunded (any rule), and the money returned;
* outstanding balance: what the merchant still owes its cardholders in service, at the price
  they paid: deposits of open cards minus what they have earned so far;
* escrow held: money of those cards still in the bank's escrow sub-accounts.
"""

from __future__ import annotations

from services.escrow.domain.card import Card, earned

FIGURES = (
    "cards_issued",
    "issuance_amount",
    "redemptions_confirmed",
    "redemption_amount",
    "upfront_paid",
    "cards_refunded",
    "refund_amount",
    "open_cards",
    "outstanding_balance",
    "escrow_held",
)


def contribution(card: Card) -> dict[str, int]:
    if card.purchased is None or card.deposited == 0 or card.returned:
        return dict.fromkeys(FIGURES, 0)
    is_open = card.status == "active"
    owed = card.deposited - min(
        card.deposited,
        earned(
            card.purchased,
            value_used=card.value_used,
            uses_used=card.uses_used,
            days=card.days_released,
        ),
    )
    return {
        "cards_issued": 1,
        "issuance_amount": card.deposited,
        "redemptions_confirmed": sum(h.status == "confirmed" for h in card.holds.values()),
        "redemption_amount": card.released - card.upfront,
        "upfront_paid": card.upfront,
        "cards_refunded": int(card.refunded > 0 or card.status in ("refunded", "expired")),
        "refund_amount": card.refunded,
        "open_cards": int(is_open),
        "outstanding_balance": owed if is_open else 0,
        "escrow_held": card.held,
    }


def empty(merchant_id: str) -> dict:
    return {
        "merchant_id": merchant_id,
        **dict.fromkeys(FIGURES, 0),
        "paid_out": 0,
        "currency": "CNY",
    }


def add(totals: dict, before: dict[str, int], after: dict[str, int]) -> dict:
    """The totals moved by one card's change from `before` to `after`."""
    return {**totals, **{name: totals[name] + after[name] - before[name] for name in FIGURES}}
