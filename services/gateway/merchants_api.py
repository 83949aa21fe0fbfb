"""Merchants: applications, approval, the public card and directory, and card products."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from services.gateway.auth import current_principal, require
from services.gateway.errors import ApiError
from services.gateway.idempotency import idempotent
from services.gateway.openapi import operation, param
from services.gateway.remote import call
from services.gateway.schemas.merchants import (
    PRODUCT_SCHEMAS,
    CountProduct,
    DefaultDeclaration,
    DefaultResult,
    Directory,
    DirectoryQuery,
    FlagChange,
    FlagResult,
    Merchant,
    MerchantApplication,
    MerchantCreated,
    MerchantStats,
    PeriodProduct,
    Product,
    Promotion,
    PromotionList,
    PromotionQuery,
    PromotionRequest,
    SettlementList,
    StoredValueProduct,
)
from services.gateway.validation import json_body, query

blueprint = Blueprint("merchants", __name__, url_prefix="/api/v1/merchants")


def actor() -> str:
    principal = current_principal()
    return f"{principal.role}:{principal.subject}"


def metadata() -> dict:
    return {"correlation_id": request.headers.get("X-Request-Id", ""), "actor": actor()}


RANK = {"green": 0, "yellow": 1, "red": 2, None: 3}


def _codes(merchant_ids: list[str]) -> dict:
    """The risk service's codes; while it is down, the merchants' pages still answer, with
    the code unknown (null) rather than a guess."""
    try:
        return call("risk", "codes", merchant_ids)
    except ApiError as exc:
        if exc.status != 503:
            raise
        return {}


def _public(card: dict, health: dict | None) -> dict:
    """The merchant's card with its health code and any public warning: a red code's reasons,
    or the regulator's warning."""
    code = (health or {}).get("code")
    warning = None
    if code == "red":
        reasons = ", ".join(r["indicator"] for r in health["reasons"])
        warning = f"red prepaid health code since {health['since']}: {reasons}"
    if card["status"] == "warned":
        warning = "; ".join(filter(None, (warning, card["status_reason"] or "warned")))
    return Merchant().dump({**card, "health_code": code, "public_warning": warning})


@blueprint.post("")
@require("operator", "merchant")
@idempotent
def apply():
    application = json_body(MerchantApplication())
    created = call("merchant", "apply", application, actor(), metadata())
    return jsonify(MerchantCreated().dump(created)), 201


@blueprint.post("/<merchant_id>/approve")
@require("operator")
@idempotent
def approve(merchant_id: str):
    if request.get_data() and request.get_json(silent=True) not in ({}, None):
        raise ApiError(400, "invalid_input", "approve takes no body")
    return jsonify(call("merchant", "approve", merchant_id, actor(), metadata()))


@blueprint.get("/<merchant_id>")
def get(merchant_id: str):
    principal = current_principal()
    owner = principal is not None and principal.role == "merchant" \
        and principal.subject == merchant_id
    card = call("merchant", "get", merchant_id, owner)
    return jsonify(_public(card, _codes([merchant_id]).get(merchant_id)))


@blueprint.get("")
def directory():
    """Green first, then yellow, red and not yet assessed, within each page; with
    `health_code`, only merchants with that code, pages read until the page is full."""
    args = query(DirectoryQuery())
    wanted, items, cursor = args.get("health_code"), [], args.get("cursor", "")
    while True:
        page = call("merchant", "directory", args.get("industry"), cursor, args["limit"])
        codes = _codes([c["merchant_id"] for c in page["items"]])
        for card in page["items"]:
            health = codes.get(card["merchant_id"])
            if wanted in (None, (health or {}).get("code")):
                items.append(_public(card, health))
        cursor = page["next_cursor"]
        if cursor is None or len(items) >= args["limit"] or not wanted:
            break
    items.sort(key=lambda m: RANK[m["health_code"]])
    return jsonify(Directory().dump({"items": items[:args["limit"]], "next_cursor": cursor}))


def only_itself(merchant_id: str) -> None:
    """A merchant sees only its own merchant-scoped data; another's is 404, as if absent."""
    principal = current_principal()
    if principal.role == "merchant" and principal.subject != merchant_id:
        raise ApiError(404, "not_found", f"no merchant {merchant_id}")


@blueprint.post("/<merchant_id>/products")
@require("merchant")
@idempotent
def create_product(merchant_id: str):
    only_itself(merchant_id)
    body = request.get_json(silent=True)
    kind = body.get("type") if isinstance(body, dict) else None
    schema = PRODUCT_SCHEMAS.get(kind) if isinstance(kind, str) else None
    if schema is None:
        raise ApiError(400, "invalid_input", "type must be stored_value, count or period",
                       {"fields": {"type": ["unknown card type"]}})
    fields = json_body(schema())
    product = call("merchant", "create_product", merchant_id, fields, metadata())
    return jsonify(Product().dump(product)), 201


@blueprint.post("/<merchant_id>/default")
@require("regulator")
@idempotent
def declare_default(merchant_id: str):
    body = json_body(DefaultDeclaration())
    call("merchant", "change_status", merchant_id, "defaulted", body["reason"], actor(),
         metadata())
    result = call("escrow", "default_merchant", merchant_id, body["reason"], actor(), metadata())
    return jsonify(DefaultResult().dump(result))


@blueprint.post("/<merchant_id>/flags")
@require("regulator", "operator")
@idempotent
def set_flag(merchant_id: str):
    body = json_body(FlagChange())
    result = call("merchant", "set_flag", merchant_id, body["flag"], body["on"], body["source"],
                  actor(), metadata())
    return jsonify(FlagResult().dump(result))


@blueprint.post("/<merchant_id>/promotions")
@require("merchant")
@idempotent
def create_promotion(merchant_id: str):
    only_itself(merchant_id)
    body = json_body(PromotionRequest())
    body.update(starts_at=body["starts_at"].isoformat(), ends_at=body["ends_at"].isoformat())
    promotion = call("merchant", "create_promotion", merchant_id, body, actor(), metadata())
    return jsonify(Promotion().dump(promotion)), 201


@blueprint.get("/<merchant_id>/promotions")
def promotions(merchant_id: str):
    args = query(PromotionQuery())
    items = call("merchant", "promotions", merchant_id, args["include_ended"])
    return jsonify(PromotionList().dump({"items": items, "next_cursor": None}))


@blueprint.get("/<merchant_id>/stats")
@require("merchant", "regulator")
def stats(merchant_id: str):
    only_itself(merchant_id)
    call("merchant", "get", merchant_id, False)  # 404 for a merchant that does not exist
    return jsonify(MerchantStats().dump(call("escrow", "merchant_stats", merchant_id)))


@blueprint.get("/<merchant_id>/settlements")
@require("merchant")
def settlements(merchant_id: str):
    only_itself(merchant_id)
    payouts = call("escrow", "settlements", merchant_id)
    return jsonify(SettlementList().dump({"items": payouts, "next_cursor": None}))


def _op(summary: str, schema: str | None, errors: tuple[int, ...], **more) -> dict:
    return operation(summary, tag="merchants", schema=schema, errors=errors, **more)


PRODUCT_TYPES = {"oneOf": [{"$ref": f"#/components/schemas/{n}"}
                           for n in ("StoredValueProduct", "CountProduct", "PeriodProduct")]}
OPENAPI = {
    "/api/v1/merchants": {
        "post": _op("Apply as a merchant (operator or merchant applicant)", "MerchantCreated",
                    (400, 422), status="201", body="MerchantApplication"),
        "get": _op("The public directory of listed merchants", "Directory", (400,),
                   params=tuple(param(n) for n in ("industry", "health_code", "cursor")) +
                   (param("limit", "integer"),))},
    "/api/v1/merchants/{merchant_id}": {"get": _op(
        "A merchant's public card (phone masked except for the merchant itself)", "Merchant",
        (404,))},
    "/api/v1/merchants/{merchant_id}/approve": {"post": _op(
        "Approve an application (operator)", None, (404, 409))},
    "/api/v1/merchants/{merchant_id}/default": {"post": _op(
        "Declare a merchant defaulted: every open card is refunded from escrow",
        "DefaultResult", (400, 404, 409), body="DefaultDeclaration")},
    "/api/v1/merchants/{merchant_id}/settlements": {"get": _op(
        "Payouts of released money to the merchant (the merchant itself)", "SettlementList",
        (404,))},
    "/api/v1/merchants/{merchant_id}/products": {"post": _op(
        "Create a card product (the merchant itself)", "Product", (400, 404, 422),
        status="201", body=PRODUCT_TYPES)},
    "/api/v1/merchants/{merchant_id}/flags": {"post": _op(
        "Record or lift a listing (失信, 经营异常, ...) read from a public source",
        "FlagResult", (400, 404), body="FlagChange")},
    "/api/v1/merchants/{merchant_id}/promotions": {
        "post": _op("A time-limited bonus on a stored-value product (the merchant)",
                    "Promotion", (400, 404, 409, 422), status="201", body="PromotionRequest"),
        "get": _op("The merchant's running and coming promotions (public)", "PromotionList",
                   (400, 404), params=(param("include_ended", "boolean"),))},
    "/api/v1/merchants/{merchant_id}/stats": {"get": _op(
        "Issuance, redemption, refunds, outstanding balance and escrow held "
        "(the merchant itself, regulators)", "MerchantStats", (404,))},
}
SCHEMAS = {"MerchantApplication": MerchantApplication, "MerchantCreated": MerchantCreated,
           "Merchant": Merchant, "Directory": Directory, "Product": Product,
           "StoredValueProduct": StoredValueProduct, "CountProduct": CountProduct,
           "PeriodProduct": PeriodProduct, "DefaultDeclaration": DefaultDeclaration,
           "DefaultResult": DefaultResult, "SettlementList": SettlementList,
           "FlagChange": FlagChange, "FlagResult": FlagResult,
           "PromotionRequest": PromotionRequest, "Promotion": Promotion,
           "PromotionList": PromotionList, "MerchantStats": MerchantStats}
