"""Cards and money: purchase, the bank's payment confirmation, redemptions confirmed by the
card's owner, and refunds. Another consumer's or merchant's card is a 404, never a 403."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from services.gateway.auth import current_principal, require
from services.gateway.errors import ApiError
from services.gateway.idempotency import idempotent
from services.gateway.merchants_api import metadata
from services.gateway.openapi import operation
from services.gateway.paging import PAGE_PARAMS, PageQuery, page_args, page_body
from services.gateway.rate_limits import PURCHASES, rate_limited
from services.gateway.remote import call
from services.gateway.schemas.cards import (
    Card,
    CardList,
    OverdueRefundList,
    PaymentConfirmation,
    PurchaseRequest,
    PurchaseResponse,
    RedemptionConfirmed,
    RedemptionCreated,
    RedemptionRejected,
    RedemptionRequest,
    RefundRequest,
    RefundResponse,
)
from services.gateway.validation import json_body, query

blueprint = Blueprint("cards", __name__, url_prefix="/api/v1")


def _json_object_or_empty(schema) -> dict:
    return json_body(schema) if request.get_data() else schema.load({})


@blueprint.post("/cards")
@rate_limited(PURCHASES)
@require("consumer")
@idempotent
def purchase():
    body = json_body(PurchaseRequest())
    bought = call("escrow", "purchase", current_principal().subject, body["product_id"],
                  metadata())
    return jsonify(PurchaseResponse().dump(bought)), 201


@blueprint.post("/payments/<payment_id>/confirm")
@require("bank")
@idempotent
def confirm_payment(payment_id: str):
    body = _json_object_or_empty(PaymentConfirmation())
    card = call("escrow", "confirm_payment", payment_id, body.get("amount"), metadata())
    return jsonify(Card().dump(card))


@blueprint.get("/cards/<card_id>")
@require("consumer", "merchant", "regulator")
def get_card(card_id: str):
    card = call("escrow", "get_card", card_id)
    principal = current_principal()
    allowed = principal.role == "regulator" or (
        principal.role == "consumer" and card["consumer_id"] == principal.subject) or (
        principal.role == "merchant" and card["merchant_id"] == principal.subject)
    if not allowed:
        raise ApiError(404, "not_found", f"no card {card_id}")
    return jsonify(Card().dump(card))


@blueprint.get("/consumers/me/cards")
@require("consumer")
def my_cards():
    scope = "cards/me"
    after, limit = page_args(query(PageQuery()), scope)
    page = call("escrow", "consumer_cards", current_principal().subject, after, limit)
    return jsonify(CardList().dump(page_body(page, scope)))


@blueprint.post("/cards/<card_id>/redemptions")
@require("merchant")
@idempotent
def request_redemption(card_id: str):
    body = _json_object_or_empty(RedemptionRequest())
    created = call("escrow", "request_redemption", card_id, current_principal().subject,
                   body.get("amount", 0), body.get("uses", 0), metadata())
    return jsonify(RedemptionCreated().dump(created)), 201


@blueprint.post("/redemptions/<redemption_id>/confirm")
@require("consumer")
@idempotent
def confirm_redemption(redemption_id: str):
    done = call("escrow", "confirm_redemption", redemption_id, current_principal().subject,
                metadata())
    return jsonify(RedemptionConfirmed().dump(done))


@blueprint.post("/redemptions/<redemption_id>/reject")
@require("consumer")
@idempotent
def reject_redemption(redemption_id: str):
    done = call("escrow", "reject_redemption", redemption_id, current_principal().subject,
                metadata())
    return jsonify(RedemptionRejected().dump(done))


@blueprint.post("/cards/<card_id>/refund")
@require("consumer")
@idempotent
def refund(card_id: str):
    json_body(RefundRequest())
    done = call("escrow", "refund", card_id, current_principal().subject, metadata())
    return jsonify(RefundResponse().dump(done))


@blueprint.get("/refunds/overdue")
@require("regulator", "bank")
def overdue_refunds():
    """Refunds the bank has not taken by their due date."""
    scope = "refunds/overdue"
    after, limit = page_args(query(PageQuery()), scope)
    page = call("escrow", "overdue_refunds", after, limit)
    return jsonify(OverdueRefundList().dump(page_body(page, scope)))


def _op(summary: str, schema: str, errors: tuple[int, ...], **more) -> dict:
    return operation(summary, tag="cards", schema=schema, errors=errors, **more)


OPENAPI = {
    "/api/v1/cards": {"post": _op("Buy a card of a product", "PurchaseResponse",
                                  (400, 404, 422), status="201", body="PurchaseRequest")},
    "/api/v1/payments/{payment_id}/confirm": {"post": _op(
        "The bank confirms a deposit", "Card", (400, 404, 409, 422),
        body="PaymentConfirmation", body_optional=True)},
    "/api/v1/cards/{card_id}": {"get": _op(
        "A card (its owner, its merchant, the regulator)", "Card", (404,))},
    "/api/v1/consumers/me/cards": {"get": _op("The caller's cards", "CardList", (400,),
                                              params=PAGE_PARAMS)},
    "/api/v1/cards/{card_id}/redemptions": {"post": _op(
        "The card's merchant asks for an amount, uses, or a check-in", "RedemptionCreated",
        (400, 404, 409, 422), status="201", body="RedemptionRequest",
        body_optional=True)},
    "/api/v1/redemptions/{redemption_id}/confirm": {"post": _op(
        "The owner confirms: money moves to the merchant, once", "RedemptionConfirmed",
        (404, 409))},
    "/api/v1/redemptions/{redemption_id}/reject": {"post": _op(
        "The owner rejects the redemption", "RedemptionRejected", (404, 409))},
    "/api/v1/refunds/overdue": {"get": _op(
        "Refunds not taken by the bank by their due date (regulators, the bank)",
        "OverdueRefundList", (400,), params=PAGE_PARAMS)},
    "/api/v1/cards/{card_id}/refund": {"post": _op(
        "Refund the rest: cooling-off when it applies, else on request", "RefundResponse",
        (400, 404, 409, 422), body="RefundRequest")},
}
SCHEMAS = {"PurchaseRequest": PurchaseRequest, "PurchaseResponse": PurchaseResponse,
           "PaymentConfirmation": PaymentConfirmation, "Card": Card, "CardList": CardList,
           "RedemptionRequest": RedemptionRequest, "RedemptionCreated": RedemptionCreated,
           "RedemptionConfirmed": RedemptionConfirmed, "RedemptionRejected": RedemptionRejected,
           "RefundRequest": RefundRequest, "RefundResponse": RefundResponse,
           "OverdueRefundList": OverdueRefundList}
