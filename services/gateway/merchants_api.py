"""Merchants: applications, approval, the public card and directory, card products,
promotions, flags, the two-regulator default and its progress, reinstatement after a
delisting, and the merchant's own stats and payouts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from services.gateway import access
from services.gateway.auth import require
from services.gateway.clients import clients
from services.gateway.errors import ApiError
from services.gateway.idempotency import idempotent
from services.gateway.openapi import operation, param
from services.gateway.paging import PAGE_PARAMS, PageQuery, page_args, page_body
from services.gateway.request_context import actor, caller, metadata, principal
from services.gateway.schemas.merchants import (
    PRODUCT_SCHEMAS,
    CountProduct,
    DefaultDeclaration,
    DefaultProgress,
    DefaultProposal,
    DefaultResult,
    Directory,
    DirectoryQuery,
    FlagChange,
    FlagResult,
    Merchant,
    MerchantApplication,
    MerchantCard,
    MerchantCreated,
    MerchantStats,
    PeriodProduct,
    Product,
    ProductList,
    ProductQuery,
    ProductRetirement,
    Promotion,
    PromotionList,
    PromotionQuery,
    PromotionRequest,
    Reinstated,
    Reinstatement,
    SettlementList,
    StoredValueProduct,
)
from services.gateway.validation import json_body, query

blueprint = Blueprint("merchants", __name__, url_prefix="/api/v1/merchants")


def _codes(merchant_ids: list[str]) -> dict[str, Any]:
    """The risk service's codes; while it is down, the merchants' pages still answer, with
    the code unknown (null) rather than a guess."""
    try:
        return clients().risk.codes(merchant_ids)
    except ApiError as exc:
        if exc.status != 503:
            raise
        return {}


def _rating(merchant_id: str) -> dict[str, Any] | None:
    """The merchant's average rating and count; null while the risk service is down."""
    try:
        return clients().risk.rating_summaries([merchant_id]).get(merchant_id)
    except ApiError as exc:
        if exc.status != 503:
            raise
        return None


def _inspection(merchant_id: str) -> dict[str, Any] | None:
    """The merchant's inspection tier (issue 14), without its reasons for the public; null
    when the inspection service does not know the merchant yet, or is down: a merchant's page
    never fails for want of its inspection tier, which only the inspection service has."""
    try:
        found = clients().inspection.classification(merchant_id)
    except ApiError as exc:
        if exc.status not in (404, 503):
            raise
        return None
    if found is None:
        return None
    if not access.sees_classification_reasons(caller(), merchant_id):
        found = {k: v for k, v in found.items() if k != "reasons"}
    return found


def _public(card: dict[str, Any], health: dict[str, Any] | None) -> dict:
    """The merchant's card with its health code and any public warning: a red code's reasons,
    or the regulator's warning."""
    code = (health or {}).get("code")
    warning = None
    if health is not None and code == "red":
        reasons = ", ".join(r["indicator"] for r in health["reasons"])
        warning = f"red prepaid health code since {health['since']}: {reasons}"
    if card["status"] == "warned":
        warning = "; ".join(filter(None, (warning, card["status_reason"] or "warned")))
    return Merchant().dump({**card, "health_code": code, "public_warning": warning})


@blueprint.post("")
@operation(
    "Apply as a merchant (operator or merchant applicant)",
    tag="merchants",
    response=MerchantCreated,
    errors=(400, 409, 422),
    status=201,
    body=MerchantApplication,
    says={
        409: "uscc_taken: a live merchant (not closed or defaulted) holds this "
        "unified social credit code"
    },
)
@require("operator", "merchant")
@idempotent
def apply():
    application = json_body(MerchantApplication())
    created = clients().merchant.apply(application, actor(), metadata())
    return jsonify(MerchantCreated().dump(created)), 201


@blueprint.post("/<merchant_id>/approve")
@operation(
    "Approve an application (operator; not the operator who filed it)",
    tag="merchants",
    errors=(404, 409, 422),
    says={
        422: "second_operator_required: the operator who filed the application may not approve it"
    },
)
@require("operator")
@idempotent
def approve(merchant_id: str):
    if request.get_data() and request.get_json(silent=True) not in ({}, None):
        raise ApiError(400, "invalid_input", "approve takes no body")
    return jsonify(clients().merchant.approve(merchant_id, actor(), metadata()))


@blueprint.get("/<merchant_id>")
@operation(
    "A merchant's public card (phone masked except for the merchant itself), with its "
    "average rating and its inspection tier (null while unknown or unavailable; the tier's "
    "reasons for regulators and the merchant itself)",
    tag="merchants",
    response=MerchantCard,
    errors=(404,),
)
def get(merchant_id: str):
    owner = access.is_merchant_itself(caller(), merchant_id)
    card = clients().merchant.get(merchant_id, owner)
    public = _public(card, _codes([merchant_id]).get(merchant_id))
    return jsonify(
        MerchantCard().dump(
            {**public, "rating": _rating(merchant_id), "inspection": _inspection(merchant_id)}
        )
    )


@blueprint.get("")
@operation(
    "The public directory of listed merchants",
    tag="merchants",
    response=Directory,
    errors=(400,),
    params=tuple(param(n) for n in ("industry", "health_code"))
    + (param("q", description="part of the merchant's name, at most 40 characters"),)
    + PAGE_PARAMS,
)
def directory():
    """Green first, then yellow, red and not yet assessed, across pages; by id within a code.
    The order and the codes shown are the merchant service's copy of the risk service's.
    `q` keeps the merchants whose name holds it, in the same order."""
    args = query(DirectoryQuery())
    industry, code, name = args.get("industry"), args.get("health_code"), args["q"].strip()
    scope = f"directory/{industry or ''}/{code or ''}" + (f"/{name}" if name else "")
    after, limit = page_args(args, scope)
    page = clients().merchant.directory(industry, after, limit, code, name or None)
    items = [_public(card, card.pop("health")) for card in page["items"]]
    return jsonify(Directory().dump(page_body(page, scope, items)))


@blueprint.post("/<merchant_id>/products")
@operation(
    "Create a card product (the merchant itself)",
    tag="merchants",
    response=Product,
    errors=(400, 404, 422),
    status=201,
    body=(StoredValueProduct, CountProduct, PeriodProduct),
)
@require("merchant")
@idempotent
def create_product(merchant_id: str):
    access.only_itself(principal(), merchant_id)
    body = request.get_json(silent=True)
    kind = body.get("type") if isinstance(body, dict) else None
    schema = PRODUCT_SCHEMAS.get(kind) if isinstance(kind, str) else None
    if schema is None:
        raise ApiError(
            400,
            "invalid_input",
            "type must be stored_value, count or period",
            {"fields": {"type": ["unknown card type"]}},
        )
    fields = json_body(schema())
    product = clients().merchant.create_product(merchant_id, fields, metadata())
    return jsonify(Product().dump(product)), 201


@blueprint.get("/<merchant_id>/products")
@operation(
    "The merchant's products on sale, each with the bonus a card bought now carries "
    "(public); retired ones too with include_retired",
    tag="merchants",
    response=ProductList,
    errors=(400, 404),
    params=(param("include_retired", "boolean"),) + PAGE_PARAMS,
)
def products(merchant_id: str):
    args = query(ProductQuery())
    scope = f"products/{merchant_id}/{args['include_retired']}"
    after, limit = page_args(args, scope)
    page = clients().merchant.products(merchant_id, args["include_retired"], after, limit)
    return jsonify(ProductList().dump(page_body(page, scope)))


@blueprint.post("/<merchant_id>/products/<product_id>/retire")
@operation(
    "Stop new sales of a product (the merchant itself); cards sold keep working. "
    "Retiring again answers the first retirement",
    tag="merchants",
    response=ProductRetirement,
    errors=(400, 404, 409),
)
@require("merchant")
@idempotent
def retire_product(merchant_id: str, product_id: str):
    access.only_itself(principal(), merchant_id)
    if request.get_data() and request.get_json(silent=True) not in ({}, None):
        raise ApiError(400, "invalid_input", "retire takes no body")
    retired = clients().merchant.retire_product(merchant_id, product_id, actor(), metadata())
    return jsonify(ProductRetirement().dump(retired))


@blueprint.post("/<merchant_id>/default")
@operation(
    "Declare a merchant defaulted, by two regulators: the first call records a "
    "proposal (202); a different regulator's call confirms it and every open card is "
    "refunded from escrow (200); once defaulted, a call resumes the refund",
    tag="merchants",
    response=DefaultResult,
    errors=(400, 404, 409, 422),
    body=DefaultDeclaration,
    also={202: ("proposed; waiting for a different regulator's confirmation", DefaultProposal)},
    says={422: "second_regulator_required: the proposer may not confirm"},
)
@require("regulator")
@idempotent
def declare_default(merchant_id: str):
    """Maker-checker: the first regulator's call records a proposal (202); a different
    regulator's call confirms it, and the merchant service then refunds every open card."""
    body = json_body(DefaultDeclaration())
    step = clients().merchant.declare_default(merchant_id, body["reason"], actor(), metadata())
    if step["status"] == "default_proposed":
        return jsonify(DefaultProposal().dump(step)), 202
    return jsonify(DefaultResult().dump(step))


@blueprint.get("/<merchant_id>/default/progress")
@operation(
    "How far a merchant's default got, for a live progress bar while the confirming call "
    "refunds its open cards: none, proposed, refunding (cards_refunded of cards_total) or "
    "finished (regulator)",
    tag="merchants",
    response=DefaultProgress,
    errors=(404,),
)
@require("regulator")
def default_progress(merchant_id: str):
    return jsonify(DefaultProgress().dump(clients().merchant.default_progress(merchant_id)))


@blueprint.post("/<merchant_id>/reinstate")
@operation(
    "Relist a delisted merchant whose health code is no longer red: it may sell cards "
    "again, and leaves the red list (regulator)",
    tag="merchants",
    response=Reinstated,
    errors=(400, 404, 409, 422),
    body=Reinstatement,
    says={
        409: "not_delisted: the merchant is not delisted",
        422: "still_red: the merchant's health code is still red",
    },
)
@require("regulator")
@idempotent
def reinstate(merchant_id: str):
    body = json_body(Reinstatement())
    done = clients().merchant.reinstate(merchant_id, body["reason"], actor(), metadata())
    return jsonify(Reinstated().dump(done))


@blueprint.post("/<merchant_id>/flags")
@operation(
    "Record or lift a listing (失信, 经营异常, ...) read from a public source",
    tag="merchants",
    response=FlagResult,
    errors=(400, 404),
    body=FlagChange,
)
@require("regulator", "operator")
@idempotent
def set_flag(merchant_id: str):
    body = json_body(FlagChange())
    result = clients().merchant.set_flag(
        merchant_id, body["flag"], body["on"], body["source"], actor(), metadata()
    )
    return jsonify(FlagResult().dump(result))


@blueprint.post("/<merchant_id>/promotions")
@operation(
    "A time-limited bonus on a stored-value product (the merchant)",
    tag="merchants",
    response=Promotion,
    errors=(400, 404, 409, 422),
    status=201,
    body=PromotionRequest,
)
@require("merchant")
@idempotent
def create_promotion(merchant_id: str):
    access.only_itself(principal(), merchant_id)
    body = json_body(PromotionRequest())
    body.update(starts_at=body["starts_at"].isoformat(), ends_at=body["ends_at"].isoformat())
    promotion = clients().merchant.create_promotion(merchant_id, body, actor(), metadata())
    return jsonify(Promotion().dump(promotion)), 201


@blueprint.get("/<merchant_id>/promotions")
@operation(
    "The merchant's running and coming promotions (public)",
    tag="merchants",
    response=PromotionList,
    errors=(400, 404),
    params=(param("include_ended", "boolean"),) + PAGE_PARAMS,
)
def promotions(merchant_id: str):
    args = query(PromotionQuery())
    scope = f"promotions/{merchant_id}/{args['include_ended']}"
    after, limit = page_args(args, scope)
    page = clients().merchant.promotions(merchant_id, args["include_ended"], after, limit)
    return jsonify(PromotionList().dump(page_body(page, scope)))


@blueprint.get("/<merchant_id>/stats")
@operation(
    "Issuance, redemption, refunds, outstanding balance and escrow held "
    "(the merchant itself, regulators)",
    tag="merchants",
    response=MerchantStats,
    errors=(404,),
)
@require("merchant", "regulator")
def stats(merchant_id: str):
    access.only_itself(principal(), merchant_id)
    clients().merchant.get(merchant_id)  # 404 for a merchant that does not exist
    return jsonify(MerchantStats().dump(clients().escrow.merchant_stats(merchant_id)))


@blueprint.get("/<merchant_id>/settlements")
@operation(
    "Payouts of released money to the merchant (the merchant itself)",
    tag="merchants",
    response=SettlementList,
    errors=(400, 404),
    params=PAGE_PARAMS,
)
@require("merchant")
def settlements(merchant_id: str):
    access.only_itself(principal(), merchant_id)
    scope = f"settlements/{merchant_id}"
    after, limit = page_args(query(PageQuery()), scope)
    page = clients().escrow.settlements(merchant_id, after, limit)
    return jsonify(SettlementList().dump(page_body(page, scope)))
