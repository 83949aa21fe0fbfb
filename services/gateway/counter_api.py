"""The merchant's side of its cards: the counter's lookup by the code a consumer shows, its
cards and spend requests, and its figures by day. Who may see them is access.py's: the
merchant itself, and regulators for the lists and figures."""

from __future__ import annotations

from flask import Blueprint, jsonify

from services.gateway import access
from services.gateway.auth import require
from services.gateway.clients import clients
from services.gateway.idempotency import idempotent
from services.gateway.openapi import operation, param
from services.gateway.paging import PAGE_PARAMS, PageQuery, page_args, page_body
from services.gateway.request_context import principal
from services.gateway.schemas.cards import (
    REDEMPTION_STATUSES,
    Card,
    CardList,
    CounterLookup,
    DailyStats,
    DailyStatsQuery,
    MerchantRedemptionQuery,
    RedemptionList,
)
from services.gateway.validation import json_body, query

blueprint = Blueprint("counter", __name__, url_prefix="/api/v1/merchants")


@blueprint.post("/<merchant_id>/counter/lookup")
@operation(
    "The merchant's own card showing a code (changes nothing). A code that is not 12 digits "
    "is 400 invalid_card_code; a mistyped, unknown or another merchant's one is 404 "
    "card_not_found",
    tag="counter",
    response=Card,
    errors=(400, 404),
    body=CounterLookup,
)
@require("merchant")
@idempotent
def lookup(merchant_id: str):
    access.only_itself(principal(), merchant_id)
    body = json_body(CounterLookup())
    card = clients().escrow.card_at_counter(merchant_id, body["card_code"])
    return jsonify(Card().dump(card))


@blueprint.get("/<merchant_id>/cards")
@operation(
    "The merchant's cards, consumers left out (the merchant itself, regulators)",
    tag="counter",
    response=CardList,
    errors=(400, 404),
    params=PAGE_PARAMS,
)
@require("merchant", "regulator")
def cards(merchant_id: str):
    access.only_itself(principal(), merchant_id)
    scope = f"merchant-cards/{merchant_id}"
    after, limit = page_args(query(PageQuery()), scope)
    page = clients().escrow.merchant_cards(merchant_id, after, limit)
    return jsonify(CardList().dump(page_body(page, scope)))


@blueprint.get("/<merchant_id>/redemptions")
@operation(
    "The merchant's spend requests, all by default, oldest first (the merchant itself, "
    "regulators); a pending one past its time reads as expired",
    tag="counter",
    response=RedemptionList,
    errors=(400, 404),
    params=(param("status", description=" | ".join(REDEMPTION_STATUSES)),) + PAGE_PARAMS,
)
@require("merchant", "regulator")
def redemptions(merchant_id: str):
    access.only_itself(principal(), merchant_id)
    args = query(MerchantRedemptionQuery())
    scope = f"merchant-redemptions/{merchant_id}/{args['status']}"
    after, limit = page_args(args, scope)
    page = clients().escrow.merchant_redemptions(merchant_id, args["status"], after, limit)
    return jsonify(RedemptionList().dump(page_body(page, scope)))


@blueprint.get("/<merchant_id>/stats/daily")
@operation(
    "The figures of /stats, one row a day from `from` to `to` inclusive (at most 366 days; "
    "UTC days); a day without events has zero flows and carries the levels over",
    tag="counter",
    response=DailyStats,
    errors=(400, 404),
    params=(
        param("from", required=True, description="YYYY-MM-DD"),
        param("to", required=True, description="YYYY-MM-DD"),
    ),
)
@require("merchant", "regulator")
def daily_stats(merchant_id: str):
    access.only_itself(principal(), merchant_id)
    args = query(DailyStatsQuery())
    clients().merchant.get(merchant_id)  # 404 for a merchant that does not exist
    figures = clients().escrow.merchant_daily_stats(
        merchant_id, args["start"].isoformat(), args["end"].isoformat()
    )
    return jsonify(DailyStats().dump(figures))
