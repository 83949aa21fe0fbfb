"""The regulator's city figures, the public 红黑榜 and the 风险预警名单 (views of the risk
service)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from services.gateway import access
from services.gateway.auth import require
from services.gateway.clients import clients
from services.gateway.errors import ApiError
from services.gateway.openapi import operation, param
from services.gateway.paging import PAGE_PARAMS, decode, encode
from services.gateway.request_context import principal
from services.gateway.schemas.city import (
    CityQuery,
    CityStats,
    HealthHistory,
    HistoryQuery,
    ListQuery,
    RedBlackLists,
    WatchList,
    WatchQuery,
)
from services.gateway.validation import query

blueprint = Blueprint("city", __name__, url_prefix="/api/v1")
LISTS = ("red", "black")


@blueprint.get("/stats/city")
@operation(
    "The city's figures by industry, or by day over from..to (at most 366 days), with the "
    "city's total and escrow coverage in basis points (regulator)",
    tag="regulator",
    response=CityStats,
    errors=(400,),
    params=(
        param("by", description="industry (default) or day"),
        param("from", description="first day, YYYY-MM-DD (by=day)"),
        param("to", description="last day, YYYY-MM-DD (by=day)"),
    ),
)
@require("regulator")
def city_stats():
    args = query(CityQuery())
    first = args["from_"].isoformat() if args["from_"] else ""
    last = args["to"].isoformat() if args["to"] else ""
    return jsonify(CityStats().dump(clients().risk.city_stats(args["by"], first, last)))


@blueprint.get("/lists/red-black")
@operation(
    "The public 红黑榜: red (red code or delisted) and black (defaulted or a 失信 judgment "
    "debtor), longest listed first, each with its reason; `list` with `cursor` pages one list",
    tag="regulator",
    response=RedBlackLists,
    errors=(400,),
    params=(
        param("list", description="red or black: page this list only"),
        param("department", description="samr|commerce|education|sports|association"),
    )
    + PAGE_PARAMS,
)
def red_black():
    args = query(ListQuery())
    if args["cursor"] and not args["list"]:
        raise ApiError(400, "invalid_cursor", "a cursor pages one list: give list=red|black")
    body = {}
    scope = f"/{args['department']}" if args["department"] else ""
    for which in LISTS:
        if args["list"] in (None, which):
            after = decode(f"lists/{which}{scope}", args["cursor"])
            page = clients().risk.public_list(which, after, args["limit"], args["department"])
        else:
            page = {"items": [], "next_after": None}
        body[which] = page["items"]
        cursor = encode(f"lists/{which}{scope}", page["next_after"])
        body.setdefault("next_cursor", {})[which] = cursor
    return jsonify(RedBlackLists().dump(body))


@blueprint.get("/lists/watch")
@operation(
    "The 风险预警名单: every merchant whose health code is yellow or red now, longest "
    "watched first, with the reasons (indicator, value, threshold); filter by code and by "
    "the supervising department (regulator)",
    tag="regulator",
    response=WatchList,
    errors=(400,),
    params=(
        param("code", description="yellow or red"),
        param("department", description="samr|commerce|education|sports|association"),
    )
    + PAGE_PARAMS,
)
@require("regulator")
def watch_list():
    args = query(WatchQuery())
    scope = f"lists/watch/{args['code'] or ''}/{args['department'] or ''}"
    page = clients().risk.watch_list(
        args["code"], args["department"], decode(scope, args["cursor"]), args["limit"]
    )
    body = {"items": page["items"], "next_cursor": encode(scope, page["next_after"])}
    return jsonify(WatchList().dump(body))


@blueprint.get("/merchants/<merchant_id>/health/history")
@operation(
    "A merchant's indicators one row a day, every code change with its reasons, and the "
    "policy's thresholds, over from..to (at most 366 days; the merchant itself, regulators)",
    tag="regulator",
    response=HealthHistory,
    errors=(400, 404),
    params=(
        param("from", description="first day, YYYY-MM-DD", required=True),
        param("to", description="last day, YYYY-MM-DD", required=True),
    ),
)
@require("merchant", "regulator")
def health_history(merchant_id: str):
    access.only_itself(principal(), merchant_id)
    args = query(HistoryQuery())
    found = clients().risk.health_history(
        merchant_id, args["from_"].isoformat(), args["to"].isoformat()
    )
    return jsonify(HealthHistory().dump(found))
