"""The regulators' alert queue (the risk service): filtered, cursor-paged lists oldest first
with each alert's SLA, assignment to an officer, and the steps acknowledge -> verify (a note
and the evidence file's SHA-256) -> resolve. Every action records who, their department (the
token's) and when.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from services.gateway.auth import require
from services.gateway.clients import clients
from services.gateway.errors import ApiError
from services.gateway.idempotency import idempotent
from services.gateway.openapi import operation, param
from services.gateway.paging import PAGE_PARAMS, page_args, page_body
from services.gateway.request_context import actor, metadata, principal
from services.gateway.schemas.alerts import (
    Alert,
    AlertAssignment,
    AlertList,
    AlertQuery,
    Resolution,
    Verification,
)
from services.gateway.validation import json_body, query
from services.risk.domain.departments import DEPARTMENTS

blueprint = Blueprint("alerts", __name__, url_prefix="/api/v1")

FACETS = ("industry", "department", "assignee")
"""Each is an index of the queue: one of them at a time, with status, code and the range."""

ALERT_PARAMS = (
    param(
        "status",
        description="open (default), acknowledged, verified, resolved, or any "
        "(every status but resolved)",
    ),
    param("code", description="yellow or red; both when absent"),
    param("industry", description="the merchant's industry"),
    param("department", description=f"the sector department: {', '.join(DEPARTMENTS)}"),
    param("assignee", description="the officer it is assigned to; none: unassigned"),
    param("opened_after", description="ISO 8601 time, inclusive (the age filter)"),
    param("opened_before", description="ISO 8601 time, exclusive"),
)


def _filters(args: dict) -> dict:
    chosen = [facet for facet in FACETS if args[facet] is not None]
    if len(chosen) > 1:
        raise ApiError(
            400,
            "filter_combination_not_indexed",
            f"filter by at most one of {', '.join(FACETS)} (got {', '.join(chosen)})",
        )
    if args["department"] is not None and args["department"] not in DEPARTMENTS:
        raise ApiError(
            400, "invalid_department", f"department must be one of {', '.join(DEPARTMENTS)}"
        )
    facet = chosen[0] if chosen else "all"
    found = {
        "code": args["code"],
        "facet": facet,
        "value": args[facet] if chosen else "",
        "opened_after": args["opened_after"] and args["opened_after"].isoformat(),
        "opened_before": args["opened_before"] and args["opened_before"].isoformat(),
    }
    return {k: v for k, v in found.items() if v is not None}


@blueprint.get("/alerts")
@operation(
    "The alert queue, oldest first, each alert with its SLA (regulator)",
    tag="risk",
    response=AlertList,
    errors=(400,),
    says={
        400: "filter_combination_not_indexed (two of industry, department, assignee), "
        "invalid_department, invalid_cursor"
    },
    params=ALERT_PARAMS + PAGE_PARAMS,
)
@require("regulator")
def alerts():
    args = query(AlertQuery())
    filters = _filters(args)
    scope = "alerts/" + "/".join(f"{k}={v}" for k, v in sorted(filters.items()))
    scope += f"/status={args['status']}"
    after, limit = page_args(args, scope)
    page = clients().risk.alerts(args["status"], after, limit, filters)
    return jsonify(AlertList().dump(page_body(page, scope)))


@blueprint.post("/alerts/<alert_id>/assign")
@operation(
    "Assign an alert to an officer; the same officer again changes nothing",
    tag="risk",
    response=Alert,
    errors=(400, 404, 409),
    body=AlertAssignment,
    says={409: "alert_resolved: a resolved alert is not assigned"},
)
@require("regulator")
@idempotent
def assign(alert_id: str):
    body = json_body(AlertAssignment())
    done = clients().risk.assign_alert(
        alert_id, body["assignee"], actor(), principal().department, metadata()
    )
    return jsonify(Alert().dump(done))


@blueprint.post("/alerts/<alert_id>/acknowledge")
@operation("Acknowledge an alert", tag="risk", response=Alert, errors=(404, 409))
@require("regulator")
@idempotent
def acknowledge(alert_id: str):
    done = clients().risk.acknowledge_alert(alert_id, actor(), metadata(), principal().department)
    return jsonify(Alert().dump(done))


@blueprint.post("/alerts/<alert_id>/verify")
@operation(
    "Record the offline verification: a note and the evidence file's SHA-256 (only the "
    "fingerprint is kept)",
    tag="risk",
    response=Alert,
    errors=(400, 404, 409),
    body=Verification,
)
@require("regulator")
@idempotent
def verify(alert_id: str):
    body = json_body(Verification())
    done = clients().risk.verify_alert(
        alert_id, actor(), body["note"], body["evidence_sha256"], metadata(), principal().department
    )
    return jsonify(Alert().dump(done))


@blueprint.post("/alerts/<alert_id>/resolve")
@operation(
    "Dispose of an alert",
    tag="risk",
    response=Alert,
    errors=(400, 404, 409, 422),
    body=Resolution,
    says={
        422: "alert_has_no_merchant: a public warning or delisting of an alert about no "
        "merchant (a reconciliation difference)"
    },
)
@require("regulator")
@idempotent
def resolve_alert(alert_id: str):
    body = json_body(Resolution())
    done = clients().risk.resolve_alert(
        alert_id, actor(), body["disposition"], body["note"], metadata(), principal().department
    )
    return jsonify(Alert().dump(done))
