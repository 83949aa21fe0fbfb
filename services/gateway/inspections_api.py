"""Inspections, the visits (issue 14): who sees which inspection, the inspector's check-in with
the merchant's code and result, the merchant's rectification with its evidence, the
regulator's acceptance, and the published results (一公开), which anyone may read."""

from __future__ import annotations

from flask import Blueprint, jsonify

from services.gateway import access
from services.gateway.auth import require
from services.gateway.clients import clients
from services.gateway.errors import ApiError
from services.gateway.evidence_api import store
from services.gateway.idempotency import idempotent
from services.gateway.openapi import operation, param
from services.gateway.paging import PAGE_PARAMS, page_args, page_body
from services.gateway.request_context import actor, metadata, principal
from services.gateway.schemas.inspections import (
    CheckedIn,
    CheckIn,
    Inspection,
    InspectionList,
    InspectionQuery,
    PublicQuery,
    PublishedList,
    RectificationRequest,
    ResultRequest,
)
from services.gateway.validation import json_body, query

blueprint = Blueprint("inspections", __name__, url_prefix="/api/v1/inspections")


def _which(args: dict) -> dict[str, str]:
    """The one list the caller asks for and may see: an inspector its own (`mine=1`), a
    merchant its own (`merchant_id` its id), a regulator a merchant's or a plan's."""
    caller = principal()
    asked = [name for name in ("mine", "merchant_id", "plan_id") if args[name]]
    if len(asked) != 1:
        raise ApiError(
            400, "invalid_input", "ask for exactly one of mine=1, merchant_id or plan_id"
        )
    if args["mine"]:
        if caller.role != "inspector":
            raise ApiError(400, "invalid_input", "mine=1 lists an inspector's own inspections")
        return {"assignee": caller.subject}
    if caller.role == "inspector":
        raise ApiError(403, "forbidden", "an inspector lists its own inspections: mine=1")
    if args["plan_id"]:
        if caller.role != "regulator":
            raise ApiError(403, "forbidden", "a plan's inspections are for regulators")
        return {"plan_id": args["plan_id"]}
    access.only_itself(caller, args["merchant_id"])
    if caller.role == "merchant":  # never a visit before the inspectors are at the door
        return {"merchant_id": args["merchant_id"], "announced_only": True}
    return {"merchant_id": args["merchant_id"]}


@blueprint.get("")
@operation(
    "Inspections: an inspector's own (mine=1), a merchant's (merchant_id: regulators and the "
    "merchant itself), a plan's (plan_id: regulators)",
    tag="inspections",
    response=InspectionList,
    errors=(400, 404),
    params=(
        param("mine", description="1: the calling inspector's own"),
        param("merchant_id"),
        param("plan_id"),
    )
    + PAGE_PARAMS,
)
@require("regulator", "inspector", "merchant")
def inspections():
    args = query(InspectionQuery())
    which = _which(args)
    scope = "inspections/" + "/".join(f"{k}={v}" for k, v in which.items() if k != "announced_only")
    after, limit = page_args(args, scope)
    page = clients().inspection.inspections(after, limit, **which)
    if which.get("announced_only"):
        page = {**page, "items": [access.as_merchant_sees(item) for item in page["items"]]}
    return jsonify(InspectionList().dump(page_body(page, scope)))


@blueprint.get("/public")
@operation(
    "A merchant's published inspection results (一公开), oldest first",
    tag="inspections",
    response=PublishedList,
    errors=(400,),
    params=(param("merchant_id", required=True),) + PAGE_PARAMS,
)
def public():
    args = query(PublicQuery())
    scope = f"inspections-public/{args['merchant_id']}"
    after, limit = page_args(args, scope)
    page = clients().inspection.published(args["merchant_id"], after, limit)
    return jsonify(PublishedList().dump(page_body(page, scope)))


def _visible(inspection_id: str) -> dict:
    try:
        found = clients().inspection.inspection(inspection_id)
    except ApiError as refused:
        if refused.status == 404:  # word for word the answer for one the caller may not see
            raise access.hidden(f"no inspection {inspection_id}") from None
        raise
    return access.visible_inspection(principal(), inspection_id, found)


@blueprint.get("/<inspection_id>")
@operation(
    "An inspection: its plan, merchant, mode, inspectors, check-ins, result, rectification "
    "and publication (regulators, its inspectors, its merchant)",
    tag="inspections",
    response=Inspection,
    errors=(404,),
)
@require("regulator", "inspector", "merchant")
def inspection(inspection_id: str):
    return jsonify(Inspection().dump(_visible(inspection_id)))


@blueprint.post("/<inspection_id>/check-in")
@operation(
    "Check in at the merchant with the code it shows (e码查; the inspection's inspector); "
    "again answers the first check-in; over the merchant's quota it warns",
    tag="inspections",
    response=CheckedIn,
    body=CheckIn,
    errors=(400, 404, 422),
    says={
        404: "not your inspection, or none",
        422: "inspector_blocked (three visits this year to this merchant without a finding), "
        "invalid_merchant_code (bad, expired, or another merchant's)",
    },
)
@require("inspector")
@idempotent
def check_in(inspection_id: str):
    body = json_body(CheckIn())
    done = clients().inspection.check_in(
        inspection_id, principal().subject, body["merchant_code"], metadata()
    )
    return jsonify(CheckedIn().dump(done))


@blueprint.post("/<inspection_id>/result")
@operation(
    "Record the visit's result: none, minor (a rectification order, 1 to 90 days) or "
    "serious (a referral) (the inspection's inspector)",
    tag="inspections",
    response=Inspection,
    body=ResultRequest,
    errors=(400, 404, 409, 422),
    says={422: "not_checked_in: a visit's result follows a check-in"},
)
@require("inspector")
@idempotent
def result(inspection_id: str):
    body = json_body(ResultRequest())
    done = clients().inspection.record_result(
        inspection_id,
        principal().subject,
        body["finding"],
        body["note"],
        body["rectification_days"],
        metadata(),
    )
    return jsonify(Inspection().dump(done))


@blueprint.post("/<inspection_id>/rectification")
@operation(
    "Answer a rectification order with evidence uploaded first to PUT /evidence/{sha256} "
    "(the merchant inspected)",
    tag="inspections",
    response=Inspection,
    body=RectificationRequest,
    errors=(400, 404, 409, 422),
    says={
        422: "no_rectification_due; evidence_not_uploaded: no evidence file with that SHA-256 "
        "was uploaded by this merchant"
    },
)
@require("merchant")
@idempotent
def rectification(inspection_id: str):
    body = json_body(RectificationRequest())
    merchant_id = principal().subject
    # The merchant's own inspection only (404 as for an unknown one), with its own evidence.
    _visible(inspection_id)
    if actor() not in store().uploaders(body["evidence_sha256"]):
        raise ApiError(
            422,
            "evidence_not_uploaded",
            "upload the evidence file first (PUT /api/v1/evidence/{sha256})",
        )
    done = clients().inspection.submit_rectification(
        inspection_id, merchant_id, body["evidence_sha256"], body["note"], metadata()
    )
    return jsonify(Inspection().dump(done))


@blueprint.post("/<inspection_id>/accept")
@operation(
    "Accept a submitted rectification; the result is then published (regulator)",
    tag="inspections",
    response=Inspection,
    errors=(404, 409, 422),
    says={422: "no_rectification_submitted"},
)
@require("regulator")
@idempotent
def accept(inspection_id: str):
    done = clients().inspection.accept_rectification(inspection_id, actor(), metadata())
    return jsonify(Inspection().dump(done))
