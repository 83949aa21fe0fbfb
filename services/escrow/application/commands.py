"""The escrow's commands: plain functions over the store, the bank and a clock.

Each one decides on a card through `store.decide` (load, decide, commit with its views, and
again on a lost race); the purchase, which creates the card, and the disputes, which come
from the risk service's events, write in one unit of work of their own.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime

from eventstore import EventStore, UnitOfWork
from eventstore.errors import ConcurrencyError
from policy import Policy
from services.domain_errors import BusinessRuleViolation, Conflict, DomainError, NotFound
from services.escrow.application import bank_instructions, request_ids
from services.escrow.application.ports import Bank, Merchants
from services.escrow.application.projections import (
    CARD_CODES,
    CARD_OF_COMPLAINT,
    DEFAULTS,
    DISPUTES_BY_CARD,
    PAYMENTS,
    REDEMPTIONS,
    TOTALS,
    card_view,
    project,
)
from services.escrow.application.queries import get_card
from services.escrow.application.refunding import refund_card as refund_card  # a command too
from services.escrow.application.store import CODEC, card_stream, decide, load_card
from services.escrow.domain import card_codes, deposits, redemptions
from services.escrow.domain.card import Card
from services.escrow.domain.events import CardCodeIssued, CardPurchased

LOG = logging.getLogger(__name__)


# --- purchase and deposit -------------------------------------------------------------------------
def purchase_card(
    consumer_id: str,
    product_id: str,
    *,
    store: EventStore,
    merchants: Merchants,
    bank: Bank,
    policy: Policy,
    now: datetime,
    metadata: dict | None = None,
    request_id: str | None = None,
    draw_code: Callable[[int], int] = secrets.randbelow,
) -> dict:
    """One card per `request_id` (request_ids.py): executed again, it answers with the first
    execution's card, and asks the bank for its deposit again only while it is unpaid (the
    bank takes a payment reference once)."""
    product = merchants.product_for_sale(product_id)
    total_key = f"{consumer_id}/{product['merchant_id']}"
    card_id = request_ids.derived_id("card", request_id, consumer_id)
    payment_id = request_ids.derived_id("pay", request_id, card_id)
    purchase = CardPurchased(
        card_id,
        consumer_id,
        product["merchant_id"],
        product_id,
        product["type"],
        product["price"],
        product["bonus"],
        product["uses"],
        product["validity_days"],
        product["period_days"],
        payment_id,
        policy.escrow_ratio_percent(product.get("sector")),
        now.isoformat(),
    )
    if request_id is None or not _bought_before(store, purchase):
        try:
            _record_purchase(store, purchase, policy, metadata, total_key, draw_code)
        except ConcurrencyError:
            if not _bought_before(store, purchase):  # raced by another card id: impossible
                raise
    card = load_card(store, card_id)  # the first execution's, when this one repeats it
    price = card.purchase.price
    if card.status == "pending_payment" and bank.request_deposit(payment_id, card_id, price):
        confirm_payment(
            payment_id,
            price,
            store=store,
            bank=bank,
            policy=policy,
            now=now,
            metadata=metadata,
        )
    view = get_card(card_id, store=store)
    return {
        "card_id": card_id,
        "status": view["status"],
        "payment": {"payment_id": payment_id, "amount": price},
    }


def _bought_before(store: EventStore, purchase: CardPurchased) -> bool:
    """Whether the card exists: this request executed before. Its id reused for another
    purchase (a client's key reused once the gateway's record of it expired) is refused."""
    try:
        first = load_card(store, purchase.card_id).purchase
    except NotFound:
        return False
    if (first.consumer_id, first.product_id) != (purchase.consumer_id, purchase.product_id):
        raise BusinessRuleViolation(
            "this Idempotency-Key was used for another purchase", "idempotency_key_reused"
        )
    return True


def _record_purchase(
    store: EventStore,
    purchase: CardPurchased,
    policy: Policy,
    metadata: dict | None,
    total_key: str,
    draw_code: Callable[[int], int],
) -> None:
    card_id = purchase.card_id
    with store.unit_of_work() as uow:
        code = _unused_code(uow, purchase.merchant_id, draw_code)
        issued = CardCodeIssued(card_id, purchase.merchant_id, code, purchase.purchased_at)
        # Appending first takes the store's write lock, so two purchases racing for the last
        # of the cap read the total one after the other; a refusal rolls the append back.
        uow.append(
            card_stream(card_id),
            [CODEC.encode(e, metadata or {}) for e in (purchase, issued)],
            0,
        )
        spent = (uow.get_view(TOTALS, total_key) or {"amount": 0})["amount"]
        limit = policy.cards.max_consumer_total_per_merchant
        if spent + purchase.price > limit:
            raise BusinessRuleViolation(
                "this consumer's prepaid total with the merchant would exceed the cap",
                "consumer_cap_exceeded",
                {"cap": limit, "already": spent},
            )
        project(uow, Card(card_id), [purchase, issued])


def _unused_code(uow: UnitOfWork, merchant_id: str, draw: Callable[[int], int]) -> str:
    """A fresh card code no card of the merchant has (a lookup is by merchant and code)."""
    while True:
        code = card_codes.new_code(draw)
        if uow.get_view(CARD_CODES, f"{merchant_id}/{code}") is None:
            return code


def confirm_payment(
    payment_id: str,
    amount: int | None,
    *,
    store: EventStore,
    bank: Bank,
    policy: Policy,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
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
    card = load_card(store, card_id)
    received = card.purchase.price if amount is None else amount
    try:
        if (
            card.status == "pending_payment"
            and store.get_view(DEFAULTS, card.purchase.merchant_id) is not None
        ):
            raise BusinessRuleViolation("the merchant was declared defaulted", "merchant_defaulted")
        done = decide(
            store,
            card_id,
            lambda c: deposits.confirm_deposit(
                c, payment_id, received, now, cooling_off_days=policy.refunds.cooling_off_days
            ),
            metadata,
        )
        return card_view(done.card)
    except (Conflict, NotFound):
        raise  # the card was activated or closed otherwise: nothing of this payment is kept
    except Exception as exc:
        if not isinstance(exc, DomainError):
            LOG.exception(
                "activating card %s failed after the bank took the money; returning it", card_id
            )
        returned = _return_deposit(
            store,
            bank,
            card_id,
            payment_id,
            received,
            getattr(exc, "code", "activation_failed"),
            now,
            metadata,
        )
        if isinstance(exc, DomainError):
            exc.details = {**exc.details, **returned}
            raise
        raise BusinessRuleViolation(
            "the card could not be activated; the payment goes back by the original route",
            "purchase_failed",
            returned,
        ) from exc


def _return_deposit(
    store: EventStore,
    bank: Bank,
    card_id: str,
    payment_id: str,
    amount: int,
    reason: str,
    now: datetime,
    metadata: dict | None,
) -> dict:
    done = decide(
        store,
        card_id,
        lambda c: deposits.return_deposit(c, payment_id, amount, reason, now),
        metadata,
    )
    if done.events:
        bank_instructions.send(
            store, bank, [bank_instructions.key_of("refund", payment_id, card_id)]
        )
    return {
        "card_id": card_id,
        "payment_id": payment_id,
        "status": done.card.status,
        "returned_amount": amount if done.events else 0,
    }


# --- redemptions --------------------------------------------------------------------------------
def request_redemption(
    card_id: str,
    merchant_id: str,
    *,
    value: int,
    uses: int,
    store: EventStore,
    policy: Policy,
    now: datetime,
    metadata: dict | None = None,
    request_id: str | None = None,
) -> dict:
    """One hold per `request_id` (request_ids.py): executed again, it answers as the first
    execution did and appends nothing."""
    card = load_card(store, card_id)
    if card.purchase.merchant_id != merchant_id:
        raise NotFound(f"no card {card_id}")
    redemption_id = request_ids.derived_id("red", request_id, card_id)
    if not redemptions.already_requested(card, redemption_id, value=value, uses=uses):
        if store.get_view(DEFAULTS, merchant_id) is not None:
            raise BusinessRuleViolation(
                "the merchant was declared defaulted: its cards are refunded, not redeemed",
                "merchant_defaulted",
            )
    done = decide(
        store,
        card_id,
        lambda c: redemptions.request_redemption(
            c,
            redemption_id,
            value=value,
            uses=uses,
            now=now,
            hold_minutes=policy.escrow.hold_expiry_minutes,
        ),
        request_ids.with_request_id(metadata, request_id),
    )
    if done.events:
        expires_at = done.events[0].expires_at
    else:  # requested before, by this very request
        expires_at = next(
            r.data["expires_at"]
            for r in done.history
            if r.type == "escrow.RedemptionRequested.v1"
            and r.data["redemption_id"] == redemption_id
        )
    return {
        "redemption_id": redemption_id,
        "status": "pending_confirmation",
        "expires_at": expires_at,
    }


def _owned_hold(store: EventStore, redemption_id: str, consumer_id: str | None) -> str:
    found = store.get_view(REDEMPTIONS, redemption_id)
    if found is None:
        raise NotFound(f"no redemption {redemption_id}")
    owner = found.get("consumer_id") or load_card(store, found["card_id"]).purchase.consumer_id
    if consumer_id is not None and owner != consumer_id:
        raise NotFound(f"no redemption {redemption_id}")
    return found["card_id"]


def confirm_redemption(
    redemption_id: str,
    consumer_id: str,
    *,
    store: EventStore,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    card_id = _owned_hold(store, redemption_id, consumer_id)
    done = decide(
        store, card_id, lambda c: redemptions.confirm_redemption(c, redemption_id, now), metadata
    )
    hold = done.card.holds[redemption_id]
    if hold.status != "confirmed":
        raise Conflict(f"the redemption was {hold.status}", "redemption_not_pending")
    if done.events:
        return {
            "status": "confirmed",
            "released_amount": done.events[0].released_amount,
            "event_id": done.event_ids[0],
        }
    # Confirmed before: answer exactly as the first confirmation did.
    first = next(
        r
        for r in done.history
        if r.type == "escrow.RedemptionConfirmed.v1" and r.data["redemption_id"] == redemption_id
    )
    return {
        "status": "confirmed",
        "released_amount": first.data["released_amount"],
        "event_id": first.id,
    }


def void_redemption(
    redemption_id: str,
    consumer_id: str | None,
    reason: str,
    *,
    store: EventStore,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    card_id = _owned_hold(store, redemption_id, consumer_id)
    done = decide(
        store,
        card_id,
        lambda c: redemptions.void_redemption(c, redemption_id, reason, now),
        metadata,
    )
    status = done.card.holds[redemption_id].status
    if status != reason:
        raise Conflict(f"the redemption is {status}", "redemption_not_pending")
    return {"status": reason}


# --- disputes, from the risk service's complaints -------------------------------------------------
def open_dispute(uow: UnitOfWork, complaint_id: str, card_id: str) -> None:
    """A consumer's complaint about a card holds back its period releases until resolved;
    the days elapsed meanwhile are released together afterwards."""
    uow.put_view(CARD_OF_COMPLAINT, complaint_id, {"card_id": card_id})
    found = uow.get_view(DISPUTES_BY_CARD, card_id) or {"complaints": []}
    uow.put_view(
        DISPUTES_BY_CARD, card_id, {"complaints": sorted({*found["complaints"], complaint_id})}
    )


def close_dispute(uow: UnitOfWork, complaint_id: str) -> None:
    """A resolution names no card; one that was never a dispute changes nothing."""
    link = uow.get_view(CARD_OF_COMPLAINT, complaint_id)
    if link is None:
        return
    found = uow.get_view(DISPUTES_BY_CARD, link["card_id"]) or {"complaints": []}
    still = sorted(set(found["complaints"]) - {complaint_id})
    if still:
        uow.put_view(DISPUTES_BY_CARD, link["card_id"], {"complaints": still})
    else:
        uow.delete_view(DISPUTES_BY_CARD, link["card_id"])
