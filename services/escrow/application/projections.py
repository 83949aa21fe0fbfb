"""The escrow's views, kept in the unit of work that appends a card's events.

`project` folds the new events into the card and keeps everything read from outside the
streams: the card's own views, the schedules the scheduled work scans, the merchant's
figures, the consumer's total against the cap, and the bank instructions. Every view
collection the escrow keeps is named here (bank instructions in `bank_instructions`, the
merchant's figures by day in `daily_stats`, the movements the bank should show in
`reconciliation`).
"""

from __future__ import annotations

from collections.abc import Sequence

from eventstore import UnitOfWork
from eventstore.codec import event_fields
from services.escrow.application import bank_instructions, daily_stats, reconciliation
from services.escrow.domain import stats
from services.escrow.domain.card import PENDING, Card, Hold

CARDS = "cards"
BY_CONSUMER = "cards_by_consumer"
"""Keyed "<consumer id>/<card id>"."""
BY_MERCHANT = "cards_by_merchant"
"""Keyed "<merchant id>/<card id>"."""
PAYMENTS = "payments"
"""Payment id -> its card."""
REDEMPTIONS = "redemptions"
"""Redemption id -> the request as `redemption_view` shows it (rows written before that view
hold only its card and consumer until the start-up migration fills them)."""
REDEMPTIONS_BY_CONSUMER = "redemptions_by_consumer"
"""Keyed "<consumer id>/<requested at>|<redemption id>": a consumer's requests, oldest first."""
REDEMPTIONS_BY_MERCHANT = "redemptions_by_merchant"
"""Keyed "<merchant id>/<requested at>|<redemption id>": a merchant's requests."""
CARD_CODES = "card_codes"
"""Keyed "<merchant id>/<card code>" -> the card: a counter looks up only its own cards."""
TOTALS = "consumer_totals"
"""Keyed "<consumer id>/<merchant id>": what the consumer has prepaid with the merchant."""
MERCHANT_STATS = "merchant_stats"
PLATFORM_TOTALS = "platform_totals"
"""One row, key `all`: the merchants' figures summed (the money held, released, refunded),
kept with them so that the metrics read one row, never every merchant's."""
PLATFORM_KEY = "all"
UNSETTLED = "unsettled_releases"
"""Released money not yet paid out, keyed "<day>|<merchant id>"."""
PAYOUTS = "payouts"
"""Keyed "<merchant id>/<paid at>|<payout id>"."""
DEFAULTS = "defaults"
"""Merchants declared defaulted (with the progress of their cards' refunds)."""
WITHHELD = "withheld_payouts"
"""Per defaulted merchant: the released money kept from it, held for the regulator."""
DISPUTES_BY_CARD = "disputes_by_card"
"""Card id -> the ids of its open complaints; a card listed here is in dispute."""
CARD_OF_COMPLAINT = "card_of_complaint"
"""Complaint id -> the card it disputes (a resolution names only the complaint)."""

# Schedules, keyed "<ISO time>|<id>" so that a scan in key order stops at the present.
OPEN_HOLDS, CARD_EXPIRY, PERIOD_DUE = "open_holds", "card_expiry", "period_release_due"
PENDING_PAYMENTS = "pending_payments"
"""Cards waiting for their payment, keyed "<purchase time>|<card id>": the scheduled work
rechecks those the bank has not confirmed some minutes on (a crash, a lost callback)."""

RELEASES = {
    "DepositConfirmed": "upfront_amount",
    "RedemptionConfirmed": "released_amount",
    "FundsReleased": "released_amount",
}
"""The events that release money to the merchant, and the field that says how much."""


def card_view(card: Card) -> dict:
    """The card as its owner, its merchant and the gateway see it."""
    p = card.purchase
    if card.status == "pending_payment":  # nothing deposited, no balance yet
        return {
            "card_id": card.card_id,
            "type": p.card_type,
            "status": card.status,
            "merchant_id": p.merchant_id,
            "product_id": p.product_id,
            "consumer_id": p.consumer_id,
            "balance": {},
            "deposited": 0,
            "escrow_held": 0,
            "released_amount": 0,
            "refunded_amount": 0,
            "expires_at": None,
            "card_code": card.card_code,
        }
    balance = {"stored_value": {"value": card.value_left}, "count": {"uses": card.uses_left}}.get(
        p.card_type
    )
    if balance is None:
        balance = {"days_left": p.period_days - card.days_released}
    return {
        "card_id": card.card_id,
        "type": p.card_type,
        "status": card.status,
        "merchant_id": p.merchant_id,
        "product_id": p.product_id,
        "consumer_id": p.consumer_id,
        "balance": balance,
        "deposited": card.deposited,
        "escrow_held": card.held,
        "released_amount": card.released,
        "refunded_amount": card.refunded,
        "expires_at": card.expires_at.isoformat() if card.expires_at else None,
        "card_code": card.card_code,
    }


HOLD_STATUS = {PENDING: "pending"}
"""A hold's status as the redemption lists show it; the others (confirmed, rejected, expired,
voided by a refund or a default) read as they are."""


def redemption_view(card: Card, hold: Hold) -> dict:
    """A redemption request as its card's owner and merchant see it: `amount` (face value) on
    a stored-value card, `uses` on a count card, neither for a period card's check-in."""
    p = card.purchase
    view: dict[str, str | int | None] = {
        "redemption_id": hold.redemption_id,
        "card_id": card.card_id,
        "card_type": p.card_type,
        "merchant_id": p.merchant_id,
        "consumer_id": p.consumer_id,
        "requested_at": hold.requested_at,
        "expires_at": hold.expires_at.isoformat(),
        "status": HOLD_STATUS.get(hold.status, hold.status),
        "closed_at": hold.closed_at or None,
    }
    if hold.value:
        view["amount"] = hold.value
    if hold.uses:
        view["uses"] = hold.uses
    return view


def put_redemption(uow: UnitOfWork, card: Card, hold: Hold) -> None:
    """The request under its id and in its consumer's and its merchant's lists."""
    view, p = redemption_view(card, hold), card.purchase
    listed = f"{hold.requested_at}|{hold.redemption_id}"
    uow.put_view(REDEMPTIONS, hold.redemption_id, view)
    uow.put_view(REDEMPTIONS_BY_CONSUMER, f"{p.consumer_id}/{listed}", view)
    uow.put_view(REDEMPTIONS_BY_MERCHANT, f"{p.merchant_id}/{listed}", view)


def pending_key(card: Card) -> str:
    return f"{card.purchase.purchased_at}|{card.card_id}"


def release_key(card: Card) -> str | None:
    """The card's place in the period release schedule, if it has one."""
    due = card.next_release_at()
    return f"{due.isoformat()}|{card.card_id}" if due else None


def project(uow: UnitOfWork, card: Card, events: Sequence[object]) -> None:
    """Applies the events to the card, checks the money rule, and keeps the card's views,
    schedules and its merchant's figures."""
    before = stats.contribution(card)
    release_before = release_key(card)
    by_day: dict[str, dict[str, int]] = {}
    for event in events:
        was, figures_before = card.status, stats.contribution(card)
        card.apply(event)
        daily_stats.add(by_day, event, figures_before, stats.contribution(card))
        _project_event(uow, card, event, was)
        if (event_type := getattr(event, "TYPE", "")) in reconciliation.MOVING_EVENTS:
            moved = reconciliation.movements_of(
                event_type, event_fields(event), card.purchase.payment_id
            )
            reconciliation.record(uow, moved)
    card.check_invariant()
    daily_stats.record(uow, card.purchase.merchant_id, by_day)
    _reschedule_release(uow, card, release_before)
    view = card_view(card)
    p = card.purchase
    after = stats.contribution(card)
    if after != before:
        totals = uow.get_view(MERCHANT_STATS, p.merchant_id) or stats.empty(p.merchant_id)
        uow.put_view(MERCHANT_STATS, p.merchant_id, stats.add(totals, before, after))
        platform = uow.get_view(PLATFORM_TOTALS, PLATFORM_KEY) or stats.empty("")
        uow.put_view(PLATFORM_TOTALS, PLATFORM_KEY, stats.add(platform, before, after))
    for collection, key in (
        (CARDS, card.card_id),
        (BY_CONSUMER, f"{p.consumer_id}/{card.card_id}"),
        (BY_MERCHANT, f"{p.merchant_id}/{card.card_id}"),
    ):
        uow.put_view(collection, key, view)


def _project_event(uow: UnitOfWork, card: Card, event, was: str) -> None:
    """The views one event changes; `was` is the card's status before it."""
    kind = type(event).__name__
    if was == "pending_payment" and card.status != was:
        uow.delete_view(PENDING_PAYMENTS, pending_key(card))
    if kind == "CardPurchased":
        _project_purchase(uow, card)
    elif kind == "CardCodeIssued":
        uow.put_view(
            CARD_CODES, f"{card.purchase.merchant_id}/{event.card_code}", {"card_id": card.card_id}
        )
    elif kind == "RedemptionRequested":
        put_redemption(uow, card, card.holds[event.redemption_id])
        uow.put_view(
            OPEN_HOLDS,
            f"{event.expires_at}|{event.redemption_id}",
            {"card_id": card.card_id, "redemption_id": event.redemption_id},
        )
    elif kind in ("RedemptionConfirmed", "RedemptionVoided"):
        hold = card.holds[event.redemption_id]
        uow.delete_view(OPEN_HOLDS, f"{hold.expires_at.isoformat()}|{hold.redemption_id}")
        put_redemption(uow, card, hold)
    elif kind == "DepositConfirmed":
        uow.put_view(CARD_EXPIRY, f"{event.expires_at}|{card.card_id}", {"card_id": card.card_id})
    elif kind == "CardRefunded":
        if card.expires_at is not None:  # a refunded card was active: it has one
            uow.delete_view(CARD_EXPIRY, f"{card.expires_at.isoformat()}|{card.card_id}")
        bank_instructions.instruct(
            uow,
            "refund",
            card.purchase.payment_id,
            card.card_id,
            event.refund_amount,
            rule=event.rule,
            refunded_at=event.refunded_at,
        )
    elif kind == "DepositReturned":
        # Due like any refund that is not a cooling-off one (policy [refunds]).
        bank_instructions.instruct(
            uow,
            "refund",
            event.payment_id,
            card.card_id,
            event.amount,
            rule="deposit_returned",
            refunded_at=event.returned_at,
        )
        if was == "pending_payment":  # an abandoned card freed its cap already
            _release_consumer_total(uow, card)
    elif kind == "PaymentAbandoned":
        _release_consumer_total(uow, card)
    if getattr(event, RELEASES.get(kind, ""), 0):
        day = _stamp(event)[:10]
        merchant_id = card.purchase.merchant_id
        key = f"{day}|{merchant_id}"
        owed = uow.get_view(UNSETTLED, key) or {"merchant_id": merchant_id, "day": day, "amount": 0}
        owed["amount"] += getattr(event, RELEASES[kind])
        uow.put_view(UNSETTLED, key, owed)


def _project_purchase(uow: UnitOfWork, card: Card) -> None:
    """A new card counts toward its consumer's cap (the purchase checked it), and waits for
    its payment."""
    p = card.purchase
    key = f"{p.consumer_id}/{p.merchant_id}"
    spent = (uow.get_view(TOTALS, key) or {"amount": 0})["amount"]
    uow.put_view(TOTALS, key, {"amount": spent + p.price})
    uow.put_view(PAYMENTS, p.payment_id, {"card_id": card.card_id})
    uow.put_view(
        PENDING_PAYMENTS, pending_key(card), {"card_id": card.card_id, "payment_id": p.payment_id}
    )


def _release_consumer_total(uow: UnitOfWork, card: Card) -> None:
    """A card that was never issued no longer counts toward its consumer's cap."""
    p = card.purchase
    key = f"{p.consumer_id}/{p.merchant_id}"
    spent = (uow.get_view(TOTALS, key) or {"amount": 0})["amount"]
    uow.put_view(TOTALS, key, {"amount": max(0, spent - p.price)})


def _reschedule_release(uow: UnitOfWork, card: Card, scheduled: str | None) -> None:
    """Keeps a period card's one entry in the release schedule at its next due day."""
    key = release_key(card)
    if key != scheduled:
        if scheduled:
            uow.delete_view(PERIOD_DUE, scheduled)
        if key:
            uow.put_view(PERIOD_DUE, key, {"card_id": card.card_id})


def _stamp(event) -> str:
    return next(
        getattr(event, name) for name in ("confirmed_at", "released_at") if hasattr(event, name)
    )
