"""The escrow service's use cases: plain functions over the store, the bank and a clock.

Every command loads the card from its stream, asks the domain for events, and appends them at
the version it read; a concurrent command on the same card makes the append fail, and the
command is decided again on the fresh state. The domain's decisions are idempotent, so
racing confirmations of one hold all see one release and return the same answer.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from eventstore import ConcurrencyError, EventStore
from eventstore.codec import EventCodec
from policy import Policy
from services.domain_errors import BusinessRuleViolation, Conflict, DomainError, NotFound
from services.escrow.application import bank_instructions
from services.escrow.application.ports import Bank, Merchants
from services.escrow.domain import card as domain
from services.escrow.domain import stats
from services.escrow.domain.events import ESCROW_EVENTS, CardPurchased
from services.escrow.domain.refund_due import refund_due_on
from services.paging import keyset_page

CODEC = EventCodec(ESCROW_EVENTS)
CARDS, BY_CONSUMER, BY_MERCHANT, PAYMENTS, REDEMPTIONS, TOTALS = (
    "cards", "cards_by_consumer", "cards_by_merchant", "payments", "redemptions",
    "consumer_totals")
# Schedules, keyed "<ISO time>|<id>" so that a scan in key order stops at the present.
OPEN_HOLDS, CARD_EXPIRY, PERIOD_DUE = "open_holds", "card_expiry", "period_release_due"
UNSETTLED, PAYOUTS = "unsettled_releases", "payouts"
MERCHANT_STATS = "merchant_stats"
PENDING_PAYMENTS = "pending_payments"
"""Cards waiting for their payment, keyed "<purchase time>|<card id>": the scheduled work
rechecks those the bank has not confirmed some minutes on (a crash, a lost callback)."""
DISPUTES, DISPUTED_BY = "disputed_cards", "dispute_cards"
RELEASES = {"DepositConfirmed": "upfront_amount", "RedemptionConfirmed": "released_amount",
            "FundsReleased": "released_amount"}
DEFAULTS = "defaults"
"""Merchants declared defaulted (with the progress of their cards' refunds)."""
RETRIES = 50
LOG = logging.getLogger(__name__)


def card_stream(card_id: str) -> str:
    return f"card-{card_id}"


def load_card(store: EventStore, card_id: str) -> tuple[domain.Card, list]:
    records = store.read_stream(card_stream(card_id))
    if not records:
        raise NotFound(f"no card {card_id}")
    return domain.Card.from_events(card_id, (CODEC.decode(r) for r in records)), records


def card_view(card: domain.Card) -> dict:
    p = card.purchase
    balance = {"stored_value": {"value": card.value_left},
               "count": {"uses": card.uses_left}}.get(p.card_type)
    if balance is None:
        balance = {"days_left": p.period_days - card.days_released}
    return {"card_id": card.card_id, "type": p.card_type, "status": card.status,
            "merchant_id": p.merchant_id, "product_id": p.product_id,
            "consumer_id": p.consumer_id, "balance": balance, "deposited": card.deposited,
            "escrow_held": card.held, "released_amount": card.released,
            "refunded_amount": card.refunded,
            "expires_at": card.expires_at.isoformat() if card.expires_at else None}


def _commit(store: EventStore, card: domain.Card, events: list, expected: int,
            metadata: dict) -> list[str]:
    """Appends and refreshes the card's views in one unit of work; returns the event ids."""
    encoded = [CODEC.encode(e, metadata) for e in events]
    with store.unit_of_work() as uow:
        uow.append(card_stream(card.card_id), encoded, expected)
        _apply_and_index(uow, card, events)
    return [e.id for e in encoded]


def _apply_and_index(uow, card: domain.Card, events: list) -> None:
    """Applies the events, checks the money rule, and keeps the card's views, schedules and
    its merchant's figures."""
    before, release_before = stats.contribution(card), release_key(card)
    for event in events:
        was = card.status
        card.apply(event)
        kind = type(event).__name__
        if was == "pending_payment" and card.status != was:
            uow.delete_view(PENDING_PAYMENTS, pending_key(card))
        if kind == "RedemptionRequested":
            uow.put_view(REDEMPTIONS, event.redemption_id,
                         {"card_id": card.card_id, "consumer_id": card.purchase.consumer_id})
            uow.put_view(OPEN_HOLDS, f"{event.expires_at}|{event.redemption_id}",
                         {"card_id": card.card_id, "redemption_id": event.redemption_id})
        elif kind in ("RedemptionConfirmed", "RedemptionVoided"):
            hold = card.holds[event.redemption_id]
            uow.delete_view(OPEN_HOLDS, f"{hold.expires_at.isoformat()}|{hold.redemption_id}")
        elif kind == "DepositConfirmed":
            uow.put_view(CARD_EXPIRY, f"{event.expires_at}|{card.card_id}",
                         {"card_id": card.card_id})
        elif kind == "CardRefunded":
            uow.delete_view(CARD_EXPIRY, f"{card.expires_at.isoformat()}|{card.card_id}")
            bank_instructions.instruct(uow, "refund", card.purchase.payment_id, card.card_id,
                                       event.refund_amount, rule=event.rule,
                                       refunded_at=event.refunded_at)
        elif kind == "DepositReturned":
            # Due like any refund that is not a cooling-off one (policy [refunds]).
            bank_instructions.instruct(uow, "refund", event.payment_id, card.card_id,
                                       event.amount, rule="deposit_returned",
                                       refunded_at=event.returned_at)
            if was == "pending_payment":   # an abandoned card freed its cap already
                _release_consumer_total(uow, card)
        elif kind == "PaymentAbandoned":
            _release_consumer_total(uow, card)
        if getattr(event, RELEASES.get(kind, ""), 0):
            day = _stamp(event)[:10]
            key = f"{day}|{card.purchase.merchant_id}"
            owed = uow.get_view(UNSETTLED, key) or {"merchant_id": card.purchase.merchant_id,
                                                    "day": day, "amount": 0}
            owed["amount"] += getattr(event, RELEASES[kind])
            uow.put_view(UNSETTLED, key, owed)
    card.check_invariant()
    _reschedule_release(uow, card, release_before)
    view = card_view(card)
    p = card.purchase
    after = stats.contribution(card)
    if after != before:
        totals = uow.get_view(MERCHANT_STATS, p.merchant_id) or stats.empty(p.merchant_id)
        uow.put_view(MERCHANT_STATS, p.merchant_id, stats.add(totals, before, after))
    for collection, key in ((CARDS, card.card_id), (BY_CONSUMER, f"{p.consumer_id}/{card.card_id}"),
                            (BY_MERCHANT, f"{p.merchant_id}/{card.card_id}")):
        uow.put_view(collection, key, view)


def _release_consumer_total(uow, card: domain.Card) -> None:
    """A card that was never issued no longer counts toward its consumer's cap."""
    p = card.purchase
    key = f"{p.consumer_id}/{p.merchant_id}"
    spent = (uow.get_view(TOTALS, key) or {"amount": 0})["amount"]
    uow.put_view(TOTALS, key, {"amount": max(0, spent - p.price)})


def pending_key(card: domain.Card) -> str:
    return f"{card.purchase.purchased_at}|{card.card_id}"


def release_key(card: domain.Card) -> str | None:
    """The card's place in the period release schedule, if it has one."""
    due = card.next_release_at()
    return f"{due.isoformat()}|{card.card_id}" if due else None


def _reschedule_release(uow, card: domain.Card, scheduled: str | None) -> None:
    """Keeps a period card's one entry in the release schedule at its next due day."""
    key = release_key(card)
    if key != scheduled:
        if scheduled:
            uow.delete_view(PERIOD_DUE, scheduled)
        if key:
            uow.put_view(PERIOD_DUE, key, {"card_id": card.card_id})


def decide(store: EventStore, card_id: str, decision: Callable[[domain.Card], list],
           metadata: dict | None = None) -> tuple[domain.Card, list, list[str], list]:
    """Runs a decision until it commits; returns the card, new events, their ids, records."""
    for _ in range(RETRIES):
        card, records = load_card(store, card_id)
        events = decision(card)
        if not events:
            return card, [], [], records
        try:
            ids = _commit(store, card, events, card.version, metadata or {})
            return card, events, ids, records
        except ConcurrencyError:
            continue
    raise Conflict("the card is too busy; retry", "card_busy")


# --- purchase and deposit -------------------------------------------------------------------------
def purchase_card(consumer_id: str, product_id: str, *, store: EventStore, merchants: Merchants,
                  bank: Bank, policy: Policy, now: datetime, metadata: dict | None = None,
                  new_id: Callable[[], str] = lambda: uuid.uuid4().hex[:20]) -> dict:
    product = merchants.product_for_sale(product_id)
    total_key = f"{consumer_id}/{product['merchant_id']}"
    card_id, payment_id = f"card-{new_id()}", f"pay-{new_id()}"
    purchase = CardPurchased(
        card_id, consumer_id, product["merchant_id"], product_id, product["type"],
        product["price"], product["bonus"], product["uses"], product["validity_days"],
        product["period_days"], payment_id, policy.escrow_ratio_percent(product.get("sector")),
        now.isoformat())
    card = domain.Card(card_id)
    encoded = [CODEC.encode(purchase, metadata or {})]
    with store.unit_of_work() as uow:
        # Appending first takes the store's write lock, so two purchases racing for the last
        # of the cap read the total one after the other; a refusal rolls the append back.
        uow.append(card_stream(card_id), encoded, 0)
        spent = (uow.get_view(TOTALS, total_key) or {"amount": 0})["amount"]
        limit = policy.cards.max_consumer_total_per_merchant
        if spent + purchase.price > limit:
            raise BusinessRuleViolation("this consumer's prepaid total with the merchant would "
                                        "exceed the cap", "consumer_cap_exceeded",
                                        {"cap": limit, "already": spent})
        card.apply(purchase)
        uow.put_view(TOTALS, total_key, {"amount": spent + purchase.price})
        uow.put_view(PAYMENTS, payment_id, {"card_id": card_id})
        uow.put_view(PENDING_PAYMENTS, pending_key(card),
                     {"card_id": card_id, "payment_id": payment_id})
        uow.put_view(CARDS, card_id, card_view_pending(card))
        uow.put_view(BY_CONSUMER, f"{consumer_id}/{card_id}", card_view_pending(card))
        uow.put_view(BY_MERCHANT, f"{product['merchant_id']}/{card_id}", card_view_pending(card))
    if bank.request_deposit(payment_id, card_id, purchase.price):
        confirm_payment(payment_id, purchase.price, store=store, bank=bank, policy=policy,
                        now=now, metadata=metadata)
    view = get_card(card_id, store=store)
    return {"card_id": card_id, "status": view["status"],
            "payment": {"payment_id": payment_id, "amount": purchase.price}}


def card_view_pending(card: domain.Card) -> dict:
    p = card.purchase
    return {"card_id": card.card_id, "type": p.card_type, "status": card.status,
            "merchant_id": p.merchant_id, "product_id": p.product_id,
            "consumer_id": p.consumer_id, "balance": {}, "deposited": 0, "escrow_held": 0,
            "released_amount": 0, "refunded_amount": 0, "expires_at": None}


def confirm_payment(payment_id: str, amount: int | None, *, store: EventStore, bank: Bank,
                    policy: Policy, now: datetime, metadata: dict | None = None) -> dict:
    """`amount` is what the bank received; None means the card's price.

    Once the bank has the money, the card is activated or the money goes back: a payment
    that does not match, a merchant declared defaulted meanwhile, or any failure while
    activating returns the whole amount by the original route (a refund instruction in the
    same commit), closes the card as refunded and frees the consumer's cap. The caller gets
    the refusal (422) with what was returned; a card never stays pending with paid money.
    So does money the bank takes for a payment abandoned before (`payment_abandoned`)."""
    payment = store.get_view(PAYMENTS, payment_id)
    if payment is None:
        raise NotFound(f"no payment {payment_id}")
    card_id = payment["card_id"]
    card, _ = load_card(store, card_id)
    received = card.purchase.price if amount is None else amount
    try:
        if card.status == "pending_payment" and \
                store.get_view(DEFAULTS, card.purchase.merchant_id) is not None:
            raise BusinessRuleViolation("the merchant was declared defaulted",
                                        "merchant_defaulted")
        card, *_ = decide(store, card_id, lambda c: domain.confirm_deposit(
            c, payment_id, received, now, cooling_off_days=policy.refunds.cooling_off_days),
            metadata)
        return card_view(card)
    except (Conflict, NotFound):
        raise  # the card was activated or closed otherwise: nothing of this payment is kept
    except Exception as exc:
        if not isinstance(exc, DomainError):
            LOG.exception("activating card %s failed after the bank took the money; "
                          "returning it", card_id)
        returned = _return_deposit(store, bank, card_id, payment_id, received,
                                   getattr(exc, "code", "activation_failed"), now, metadata)
        if isinstance(exc, DomainError):
            exc.details = {**exc.details, **returned}
            raise
        raise BusinessRuleViolation(
            "the card could not be activated; the payment goes back by the original route",
            "purchase_failed", returned) from exc


def _return_deposit(store: EventStore, bank: Bank, card_id: str, payment_id: str, amount: int,
                    reason: str, now: datetime, metadata: dict | None) -> dict:
    card, events, _, _ = decide(store, card_id, lambda c: domain.return_deposit(
        c, payment_id, amount, reason, now), metadata)
    if events:
        bank_instructions.send(store, bank, [bank_instructions.key_of(
            "refund", payment_id, card_id)])
    return {"card_id": card_id, "payment_id": payment_id, "status": card.status,
            "returned_amount": amount if events else 0}


# --- redemptions --------------------------------------------------------------------------------
def request_redemption(card_id: str, merchant_id: str, *, value: int, uses: int,
                       store: EventStore, policy: Policy, now: datetime,
                       metadata: dict | None = None,
                       new_id: Callable[[], str] = lambda: f"red-{uuid.uuid4().hex[:20]}") -> dict:
    card, _ = load_card(store, card_id)
    if card.purchase.merchant_id != merchant_id:
        raise NotFound(f"no card {card_id}")
    if store.get_view(DEFAULTS, merchant_id) is not None:
        raise BusinessRuleViolation("the merchant was declared defaulted: its cards are "
                                    "refunded, not redeemed", "merchant_defaulted")
    redemption_id = new_id()
    card, events, _, _ = decide(store, card_id, lambda c: domain.request_redemption(
        c, redemption_id, value=value, uses=uses, now=now,
        hold_minutes=policy.escrow.hold_expiry_minutes), metadata)
    return {"redemption_id": redemption_id, "status": "pending_confirmation",
            "expires_at": events[0].expires_at}


def _owned_hold(store: EventStore, redemption_id: str, consumer_id: str | None) -> str:
    found = store.get_view(REDEMPTIONS, redemption_id)
    if found is None:
        raise NotFound(f"no redemption {redemption_id}")
    owner = found.get("consumer_id") or load_card(store, found["card_id"])[0].purchase.consumer_id
    if consumer_id is not None and owner != consumer_id:
        raise NotFound(f"no redemption {redemption_id}")
    return found["card_id"]


def confirm_redemption(redemption_id: str, consumer_id: str, *, store: EventStore,
                       now: datetime, metadata: dict | None = None) -> dict:
    card_id = _owned_hold(store, redemption_id, consumer_id)
    card, events, ids, records = decide(
        store, card_id, lambda c: domain.confirm_redemption(c, redemption_id, now), metadata)
    hold = card.holds[redemption_id]
    if hold.status != "confirmed":
        raise Conflict(f"the redemption was {hold.status}", "redemption_not_pending")
    if events:
        return {"status": "confirmed", "released_amount": events[0].released_amount,
                "event_id": ids[0]}
    # Confirmed before: answer exactly as the first confirmation did.
    first = next(r for r in records if r.type == "escrow.RedemptionConfirmed.v1"
                 and r.data["redemption_id"] == redemption_id)
    return {"status": "confirmed", "released_amount": first.data["released_amount"],
            "event_id": first.id}


def void_redemption(redemption_id: str, consumer_id: str | None, reason: str, *,
                    store: EventStore, now: datetime, metadata: dict | None = None) -> dict:
    card_id = _owned_hold(store, redemption_id, consumer_id)
    card, *_ = decide(store, card_id,
                      lambda c: domain.void_redemption(c, redemption_id, reason, now), metadata)
    status = card.holds[redemption_id].status
    if status != reason:
        raise Conflict(f"the redemption is {status}", "redemption_not_pending")
    return {"status": reason}


# --- refunds and reads ----------------------------------------------------------------------------
def refund_card(card_id: str, consumer_id: str | None, *, rule: str | None, store: EventStore,
                bank: Bank, policy: Policy, now: datetime, metadata: dict | None = None) -> dict:
    """`rule=None` is the consumer's own request: cooling-off when it applies (the whole
    principal), on request otherwise."""
    card, _ = load_card(store, card_id)
    if consumer_id is not None and card.purchase.consumer_id != consumer_id:
        raise NotFound(f"no card {card_id}")

    refunds = policy.refunds

    def decision(c: domain.Card) -> list:
        options = [rule] if rule else ["cooling_off", "on_request"]
        for option in options:
            try:
                return domain.refund(c, option, now, cooling_off_days=refunds.cooling_off_days,
                                     stored_value_formula=refunds.stored_value_formula)
            except BusinessRuleViolation:
                if option == options[-1]:
                    raise
        return []

    card, events, ids, _ = decide(store, card_id, decision, metadata)
    refund = events[-1]
    bank_instructions.send(store, bank, [bank_instructions.key_of(
        "refund", card.purchase.payment_id, card_id)])
    due = refund_due_on(refund.rule, datetime.fromisoformat(refund.refunded_at), refunds)
    return {"status": card.status, "refund_amount": refund.refund_amount, "rule": refund.rule,
            "event_id": ids[-1], "due_on": due.isoformat()}


def get_card(card_id: str, *, store: EventStore) -> dict:
    view = store.get_view(CARDS, card_id)
    if view is None:
        raise NotFound(f"no card {card_id}")
    return view


def consumer_cards(consumer_id: str, *, store: EventStore, after: str = "",
                   limit: int = 100) -> dict:
    """The consumer's cards by card id, a page at a time."""
    found = keyset_page(store.list_views, BY_CONSUMER, f"{consumer_id}/", after, limit)
    return {"items": [view for _, view in found["rows"]], "next_after": found["next_after"]}


def _stamp(event) -> str:
    return next(getattr(event, name) for name in ("confirmed_at", "released_at")
                if hasattr(event, name))


def open_dispute(uow, complaint_id: str, card_id: str) -> None:
    """A consumer's complaint about a card holds back its period releases until resolved;
    the days elapsed meanwhile are released together afterwards."""
    uow.put_view(DISPUTED_BY, complaint_id, {"card_id": card_id})
    found = uow.get_view(DISPUTES, card_id) or {"complaints": []}
    uow.put_view(DISPUTES, card_id, {"complaints": sorted({*found["complaints"], complaint_id})})


def close_dispute(uow, complaint_id: str) -> None:
    """A resolution names no card; one that was never a dispute changes nothing."""
    link = uow.get_view(DISPUTED_BY, complaint_id)
    if link is None:
        return
    found = uow.get_view(DISPUTES, link["card_id"]) or {"complaints": []}
    still = sorted(set(found["complaints"]) - {complaint_id})
    if still:
        uow.put_view(DISPUTES, link["card_id"], {"complaints": still})
    else:
        uow.delete_view(DISPUTES, link["card_id"])


def merchant_stats(merchant_id: str, *, store: EventStore) -> dict:
    """The merchant's figures; all zero for a merchant that has sold nothing yet."""
    return store.get_view(MERCHANT_STATS, merchant_id) or stats.empty(merchant_id)


def settlements(merchant_id: str, *, store: EventStore, after: str = "",
                limit: int = 100) -> dict:
    """The merchant's payouts, oldest first, a page at a time."""
    found = keyset_page(store.list_views, PAYOUTS, f"{merchant_id}/", after, limit)
    return {"items": [v for _, v in found["rows"]], "next_after": found["next_after"]}
