"""Inspections, the regulators' side (issue 14): the inspectors' roster, plans and their
verifiable 双随机 draw, the white list, the yearly figures; and the merchant's code an
inspector scans to check in (e码查)."""

from __future__ import annotations

import re

from flask import Blueprint, jsonify

from services import clock
from services.gateway import access
from services.gateway.auth import require
from services.gateway.clients import clients
from services.gateway.errors import ApiError
from services.gateway.idempotency import idempotent
from services.gateway.openapi import operation, param
from services.gateway.paging import PAGE_PARAMS, page_args, page_body
from services.gateway.request_context import actor, metadata, principal
from services.gateway.schemas.inspections import (
    Draw,
    InspectionStats,
    Inspector,
    InspectorEnrolment,
    InspectorList,
    InspectorQuery,
    MerchantCode,
    Plan,
    PlanList,
    PlanQuery,
    PlanRequest,
    StatsQuery,
    WhiteListChange,
    WhiteListed,
)
from services.gateway.validation import json_body, query
from services.inspection.domain.calendar import china_year
from services.inspection.domain.draw import KINDS
from services.risk.domain.departments import DEPARTMENTS

blueprint = Blueprint("inspection_plans", __name__, url_prefix="/api/v1")

PERIOD = re.compile(r"[0-9]{4}(Q[1-4])?")


def department_of(requested: str) -> str:
    """The department a regulator acts for: the one asked for, else its token's; 400
    invalid_department for none or an unknown one."""
    department = requested or principal().department
    if department not in DEPARTMENTS:
        raise ApiError(
            400, "invalid_department", f"department must be one of {', '.join(DEPARTMENTS)}"
        )
    return department


@blueprint.post("/inspection/inspectors")
@operation(
    "Enrol an inspector on a department's roster, with the merchants they must never be "
    "drawn for (regulator); enrolling again replaces the entry",
    tag="inspections",
    response=Inspector,
    body=InspectorEnrolment,
    errors=(400,),
    says={400: "invalid_department, invalid_input"},
)
@require("regulator")
@idempotent
def enrol():
    body = json_body(InspectorEnrolment())
    done = clients().inspection.enrol_inspector(
        body["inspector_id"],
        department_of(body["department"]),
        body["conflicts"],
        actor(),
        metadata(),
    )
    return jsonify(Inspector().dump(done))


@blueprint.get("/inspection/inspectors")
@operation(
    "A department's roster of inspectors (regulator)",
    tag="inspections",
    response=InspectorList,
    errors=(400,),
    params=(param("department", required=True, description=", ".join(DEPARTMENTS)),),
)
@require("regulator")
def inspectors():
    args = query(InspectorQuery())
    return jsonify(InspectorList().dump(clients().inspection.inspectors(args["department"])))


@blueprint.post("/inspection/plans")
@operation(
    "Open an inspection plan: the seed's SHA-256 and the eligible list's are committed in the "
    "ledger before anything is drawn (regulator)",
    tag="inspections",
    response=Plan,
    status=201,
    body=PlanRequest,
    errors=(400, 409, 422),
    says={
        400: "invalid_department, invalid_period (YYYY or YYYYQn), invalid_kind, "
        "reason_required (a special plan)",
        409: "plan_exists: the department's routine plan for the period is open already",
    },
)
@require("regulator")
@idempotent
def open_plan():
    body = json_body(PlanRequest())
    if not PERIOD.fullmatch(body["period"]):
        raise ApiError(400, "invalid_period", "period is YYYY or YYYYQn, e.g. 2026Q1")
    if body["kind"] not in KINDS:
        raise ApiError(400, "invalid_kind", f"kind must be one of {', '.join(KINDS)}")
    plan = clients().inspection.open_plan(
        department_of(body["department"]),
        body["period"],
        body["kind"],
        actor(),
        metadata(),
        body["reason"],
    )
    return jsonify(Plan().dump(plan)), 201


@blueprint.post("/inspection/plans/<plan_id>/draw")
@operation(
    "Draw the plan's merchants and inspectors and publish the seed (regulator); a repeat "
    "answers the same draw",
    tag="inspections",
    response=Draw,
    errors=(404, 409),
    says={
        404: "plan_not_found",
        409: "commitment_not_notarised: the ledger does not hold the commitment yet; retry",
    },
)
@require("regulator")
@idempotent
def draw(plan_id: str):
    return jsonify(Draw().dump(clients().inspection.draw(plan_id, actor(), metadata())))


@blueprint.get("/inspection/plans")
@operation(
    "Inspection plans, filtered by department (regulator)",
    tag="inspections",
    response=PlanList,
    errors=(400,),
    params=(param("department", description=", ".join(DEPARTMENTS)),) + PAGE_PARAMS,
)
@require("regulator")
def plans():
    args = query(PlanQuery())
    scope = f"inspection-plans/{args['department'] or ''}"
    after, limit = page_args(args, scope)
    page = clients().inspection.plans(args["department"], after, limit)
    return jsonify(PlanList().dump(page_body(page, scope)))


@blueprint.get("/inspection/plans/<plan_id>")
@operation("An inspection plan (regulator)", tag="inspections", response=Plan, errors=(404,))
@require("regulator")
def plan(plan_id: str):
    return jsonify(Plan().dump(clients().inspection.plan(plan_id)))


@blueprint.post("/merchants/<merchant_id>/inspection/white-list")
@operation(
    "Put a tier-A merchant on the white list (no routine visits) or take it off (regulator)",
    tag="inspections",
    response=WhiteListed,
    body=WhiteListChange,
    errors=(400, 404, 422),
    says={422: "not_tier_a: only a tier-A merchant is white-listed"},
)
@require("regulator")
@idempotent
def white_list(merchant_id: str):
    body = json_body(WhiteListChange())
    done = clients().inspection.set_white_list(
        merchant_id, body["white_listed"], body["reason"], actor(), metadata()
    )
    return jsonify(WhiteListed().dump(done))


@blueprint.get("/merchants/<merchant_id>/inspection-code")
@operation(
    "The merchant's check-in code (e码查), valid for minutes: shown on its console as text "
    "and QR for the inspector to scan (the merchant itself)",
    tag="inspections",
    response=MerchantCode,
    errors=(404,),
)
@require("merchant")
def merchant_code(merchant_id: str):
    access.only_itself(principal(), merchant_id)
    code = clients().inspection.merchant_code(merchant_id)
    return jsonify(MerchantCode().dump(code))


@blueprint.get("/stats/inspections")
@operation(
    "A year's inspections: visits and data checks by tier, the share done without a visit, "
    "quota use and overdue rectifications (regulator)",
    tag="inspections",
    response=InspectionStats,
    errors=(400,),
    params=(param("year", "integer", description="the calendar year; this year by default"),),
)
@require("regulator")
def stats():
    year = query(StatsQuery())["year"] or china_year(clock.now())
    return jsonify(InspectionStats().dump({"year": year, **clients().inspection.stats(year)}))
