"""Merchants: applications, approval, the public card and directory, and card products."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from services.gateway.auth import current_principal, require
from services.gateway.correlation import correlation_id
from services.gateway.errors import ApiError
from services.gateway.idempotency import idempotent
from services.gateway.openapi import operation, param
from services.gateway.paging import PAGE_PARAMS, PageQuery, page_args, page_body
from services.gateway.remote import call
from services.gateway.schemas.merchants import (
    PRODUCT_SCHEMAS,
    CountProduct,
    DefaultDeclaration,
    DefaultProposal,
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
    return {"correlation_id": correlation_id(), "actor": actor()}


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
    """Green first, then yellow, red and not yet assessed, across pages; by id within a code.
    The order and the codes shown are the merchant service's copy of the risk service's."""
    args = query(DirectoryQuery())
    industry, code = args.get("industry"), args.get("health_code")
    scope = f"directory/{industry or ''}/{code or ''}"
    after, limit = page_args(args, scope)
    page = call("merchant", "directory", industry, after, limit, code)
    items = [_public(card, card.pop("health")) for card in page["items"]]
    return jsonify(Directory().dump(page_body(page, scope, items)))


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
    # Maker-checker: the first regulator's call records a proposal (202); a different
    # regulator's call confirms it, and only then is every open card refunded.
    step = call("merchant", "declare_default", merchant_id, body["reason"], actor(),
                metadata())
    if step["status"] != "defaulted":
        return jsonify(DefaultProposal().dump(step)), 202
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
    scope = f"promotions/{merchant_id}/{args['include_ended']}"
    after, limit = page_args(args, scope)
    page = call("merchant", "promotions", merchant_id, args["include_ended"], after, limit)
    return jsonify(PromotionList().dump(page_body(page, scope)))


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
    scope = f"settlements/{merchant_id}"
    after, limit = page_args(query(PageQuery()), scope)
    page = call("escrow", "settlements", merchant_id, after, limit)
    return jsonify(SettlementList().dump(page_body(page, scope)))


def _op(summary: str, schema: str | None, errors: tuple[int, ...], **more) -> dict:
    return operation(summary, tag="merchants", schema=schema, errors=errors, **more)


PRODUCT_TYPES = {"oneOf": [{"$ref": f"#/components/schemas/{n}"}
                           for n in ("StoredValueProduct", "CountProduct", "PeriodProduct")]}
DEFAULT_OPERATION = _op(
    "Declare a merchant defaulted, by two regulators: the first call records a proposal (202); "
    "a different regulator's call confirms it and every open card is refunded from escrow "
    "(200); once defaulted, a call resumes the refund", "DefaultResult", (400, 404, 409, 422),
    body="DefaultDeclaration", says={422: "second_regulator_required: the proposer may not "
                                     "confirm"})
DEFAULT_OPERATION["responses"]["202"] = {
    "description": "proposed; waiting for a different regulator's confirmation",
    "content": {"application/json": {"schema": "DefaultProposal"}}}
OPENAPI = {
    "/api/v1/merchants": {
        "post": _op("Apply as a merchant (operator or merchant applicant)", "MerchantCreated",
                    (400, 409, 422), status="201", body="MerchantApplication",
                    says={409: "uscc_taken: a live merchant (not closed or defaulted) holds "
                          "this unified social credit code"}),
        "get": _op("The public directory of listed merchants", "Directory", (400,),
                   params=tuple(param(n) for n in ("industry", "health_code")) + PAGE_PARAMS)},
    "/api/v1/merchants/{merchant_id}": {"get": _op(
        "A merchant's public card (phone masked except for the merchant itself)", "Merchant",
        (404,))},
    "/api/v1/merchants/{merchant_id}/approve": {"post": _op(
        "Approve an application (operator; not the operator who filed it)", None,
        (404, 409, 422), says={422: "second_operator_required: the operator who filed the "
                               "application may not approve it"})},
    "/api/v1/merchants/{merchant_id}/default": {"post": DEFAULT_OPERATION},
    "/api/v1/merchants/{merchant_id}/settlements": {"get": _op(
        "Payouts of released money to the merchant (the merchant itself)", "SettlementList",
        (400, 404), params=PAGE_PARAMS)},
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
                   (400, 404), params=(param("include_ended", "boolean"),) + PAGE_PARAMS)},
    "/api/v1/merchants/{merchant_id}/stats": {"get": _op(
        "Issuance, redemption, refunds, outstanding balance and escrow held "
        "(the merchant itself, regulators)", "MerchantStats", (404,))},
}
SCHEMAS = {"MerchantApplication": MerchantApplication, "MerchantCreated": MerchantCreated,
           "Merchant": Merchant, "Directory": Directory, "Product": Product,
           "StoredValueProduct": StoredValueProduct, "CountProduct": CountProduct,
           "PeriodProduct": PeriodProduct, "DefaultDeclaration": DefaultDeclaration,
           "DefaultResult": DefaultResult, "DefaultProposal": DefaultProposal,
           "SettlementList": SettlementList,
           "FlagChange": FlagChange, "FlagResult": FlagResult,
           "PromotionRequest": PromotionRequest, "Promotion": Promotion,
           "PromotionList": PromotionList, "MerchantStats": MerchantStats}
