"""Cards and money: purchase, the bank's payment confirmation, redemptions confirmed by the
card's owner, and refunds. Who may see a card is services/gateway/access.py's."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import Schema

from services.gateway import access
from services.gateway.auth import require
from services.gateway.clients import clients
from services.gateway.idempotency import idempotent, request_identity
from services.gateway.openapi import operation, param
from services.gateway.paging import PAGE_PARAMS, PageQuery, page_args, page_body
from services.gateway.rate_limits import PURCHASES, rate_limited
from services.gateway.request_context import metadata, principal
from services.gateway.schemas.cards import (
    REDEMPTION_STATUSES,
    Card,
    CardHistory,
    CardList,
    ConsumerRedemptionQuery,
    OverdueRefundList,
    PaymentConfirmation,
    PurchaseRequest,
    PurchaseResponse,
    Redemption,
    RedemptionConfirmed,
    RedemptionCreated,
    RedemptionList,
    RedemptionRejected,
    RedemptionRequest,
    RefundQuote,
    RefundQuoteQuery,
    RefundRequest,
    RefundResponse,
)
from services.gateway.validation import json_body, query

blueprint = Blueprint("cards", __name__, url_prefix="/api/v1")


def _json_object_or_empty(schema: Schema) -> dict:
    return json_body(schema) if request.get_data() else schema.load({})


@blueprint.post("/cards")
@operation(
    "Buy a card of a product",
    tag="cards",
    response=PurchaseResponse,
    errors=(400, 404, 422),
    status=201,
    body=PurchaseRequest,
)
@rate_limited(PURCHASES)
@require("consumer")
@idempotent
def purchase():
    body = json_body(PurchaseRequest())
    bought = clients().escrow.purchase(
        principal().subject, body["product_id"], metadata(), request_identity()
    )
    return jsonify(PurchaseResponse().dump(bought)), 201


@blueprint.post("/payments/<payment_id>/confirm")
@operation(
    "The bank confirms a deposit",
    tag="cards",
    response=Card,
    errors=(400, 404, 409, 422),
    body=PaymentConfirmation,
    body_optional=True,
)
@require("bank")
@idempotent
def confirm_payment(payment_id: str):
    body = _json_object_or_empty(PaymentConfirmation())
    card = clients().escrow.confirm_payment(payment_id, body.get("amount"), metadata())
    return jsonify(Card().dump(card))


@blueprint.get("/cards/<card_id>")
@operation(
    "A card (its owner, its merchant, the regulator)", tag="cards", response=Card, errors=(404,)
)
@require("consumer", "merchant", "regulator")
def get_card(card_id: str):
    card = access.visible_card(principal(), card_id, clients().escrow.get_card(card_id))
    return jsonify(Card().dump(card))


@blueprint.get("/consumers/me/cards")
@operation("The caller's cards", tag="cards", response=CardList, errors=(400,), params=PAGE_PARAMS)
@require("consumer")
def my_cards():
    scope = "cards/me"
    after, limit = page_args(query(PageQuery()), scope)
    page = clients().escrow.consumer_cards(principal().subject, after, limit)
    return jsonify(CardList().dump(page_body(page, scope)))


@blueprint.post("/cards/<card_id>/redemptions")
@operation(
    "The card's merchant asks for an amount, uses, or a check-in",
    tag="cards",
    response=RedemptionCreated,
    errors=(400, 404, 409, 422),
    status=201,
    body=RedemptionRequest,
    body_optional=True,
)
@require("merchant")
@idempotent
def request_redemption(card_id: str):
    body = _json_object_or_empty(RedemptionRequest())
    created = clients().escrow.request_redemption(
        card_id,
        principal().subject,
        body.get("amount", 0),
        body.get("uses", 0),
        metadata(),
        request_identity(),
    )
    return jsonify(RedemptionCreated().dump(created)), 201


@blueprint.post("/redemptions/<redemption_id>/confirm")
@operation(
    "The owner confirms: money moves to the merchant, once",
    tag="cards",
    response=RedemptionConfirmed,
    errors=(404, 409),
)
@require("consumer")
@idempotent
def confirm_redemption(redemption_id: str):
    done = clients().escrow.confirm_redemption(redemption_id, principal().subject, metadata())
    return jsonify(RedemptionConfirmed().dump(done))


@blueprint.post("/redemptions/<redemption_id>/reject")
@operation(
    "The owner rejects the redemption", tag="cards", response=RedemptionRejected, errors=(404, 409)
)
@require("consumer")
@idempotent
def reject_redemption(redemption_id: str):
    done = clients().escrow.reject_redemption(redemption_id, principal().subject, metadata())
    return jsonify(RedemptionRejected().dump(done))


@blueprint.post("/cards/<card_id>/refund")
@operation(
    "Refund the rest: cooling-off when it applies, else on request",
    tag="cards",
    response=RefundResponse,
    errors=(400, 404, 409, 422),
    body=RefundRequest,
)
@require("consumer")
@idempotent
def refund(card_id: str):
    body = json_body(RefundRequest())
    done = clients().escrow.refund(
        card_id, principal().subject, metadata(), body.get("rule"), request_identity()
    )
    return jsonify(RefundResponse().dump(done))


@blueprint.get("/cards/<card_id>/refund-quote")
@operation(
    "What a refund would return now, with its rule and the formula's inputs; no effect "
    "(the owner). A rule that does not apply gets the refund's own 422",
    tag="cards",
    response=RefundQuote,
    errors=(400, 404, 409, 422),
    params=(param("rule", description="cooling_off or on_request; none: as the refund"),),
)
@require("consumer")
def refund_quote(card_id: str):
    args = query(RefundQuoteQuery())
    access.owned_card(principal(), card_id, clients().escrow.get_card(card_id))
    quote = clients().escrow.refund_quote(card_id, principal().subject, args.get("rule"))
    return jsonify(RefundQuote().dump(quote))


@blueprint.get("/cards/<card_id>/history")
@operation(
    "The card's money events, each with a ledger receipt under its event_id (the owner, "
    "its merchant, the regulator); spend requests, rejections and expiries move no money "
    "and are not listed",
    tag="cards",
    response=CardHistory,
    errors=(404,),
)
@require("consumer", "merchant", "regulator")
def card_history(card_id: str):
    access.visible_card(principal(), card_id, clients().escrow.get_card(card_id))
    return jsonify(CardHistory().dump(clients().escrow.card_history(card_id)))


def with_merchant_names(items: list[dict]) -> list[dict]:
    """The merchants' names beside their ids, from one call for the page."""
    names = clients().merchant.names(sorted({item["merchant_id"] for item in items}))
    return [{**item, "merchant_name": names.get(item["merchant_id"])} for item in items]


@blueprint.get("/consumers/me/redemptions")
@operation(
    "The caller's spend requests, pending by default: one made at the counter is listed at "
    "once; a pending one past its time reads as expired",
    tag="cards",
    response=RedemptionList,
    errors=(400,),
    params=(param("status", description=" | ".join(REDEMPTION_STATUSES)),) + PAGE_PARAMS,
)
@require("consumer")
def my_redemptions():
    args = query(ConsumerRedemptionQuery())
    scope = f"redemptions/me/{args['status']}"
    after, limit = page_args(args, scope)
    page = clients().escrow.consumer_redemptions(principal().subject, args["status"], after, limit)
    return jsonify(
        RedemptionList().dump(page_body(page, scope, with_merchant_names(page["items"])))
    )


@blueprint.get("/redemptions/<redemption_id>")
@operation(
    "One spend request and its status (its card's owner and merchant): what a counter "
    "polls to see it confirmed, rejected or lapsed",
    tag="cards",
    response=Redemption,
    errors=(404,),
)
@require("consumer", "merchant")
def get_redemption(redemption_id: str):
    found = access.visible_redemption(
        principal(), redemption_id, clients().escrow.get_redemption(redemption_id)
    )
    return jsonify(Redemption().dump(with_merchant_names([found])[0]))


@blueprint.get("/refunds/overdue")
@operation(
    "Refunds not taken by the bank by their due date (regulators, the bank)",
    tag="cards",
    response=OverdueRefundList,
    errors=(400,),
    params=PAGE_PARAMS,
)
@require("regulator", "bank")
def overdue_refunds():
    """Refunds the bank has not taken by their due date."""
    scope = "refunds/overdue"
    after, limit = page_args(query(PageQuery()), scope)
    page = clients().escrow.overdue_refunds(after, limit)
    return jsonify(OverdueRefundList().dump(page_body(page, scope)))
