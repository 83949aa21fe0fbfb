"""Complaints, health codes, regulators' alerts and credit reports (the risk service).

A complaint is seen by the consumer who filed it, the merchant it is about, and regulators;
anyone else gets 404, as for cards.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from services.gateway.auth import current_principal, require
from services.gateway.errors import ApiError
from services.gateway.idempotency import idempotent
from services.gateway.merchants_api import actor, metadata, only_itself
from services.gateway.openapi import operation, param
from services.gateway.paging import PAGE_PARAMS, page_args, page_body
from services.gateway.rate_limits import COMPLAINTS, rate_limited
from services.gateway.remote import call
from services.gateway.schemas.risk import (
    Alert,
    AlertList,
    AlertQuery,
    Complaint,
    ComplaintClosing,
    ComplaintCreated,
    ComplaintList,
    ComplaintListQuery,
    ComplaintRequest,
    ComplaintResponse,
    ComplaintRuling,
    ComplaintState,
    CreditReport,
    Health,
    Resolution,
    UnfoundedFinding,
    Verification,
)
from services.gateway.validation import json_body, query

blueprint = Blueprint("risk", __name__, url_prefix="/api/v1")


def _not_yours(complaint_id: str) -> ApiError:
    # Word for word what an unknown id gets, so a 404 does not tell "exists" from "absent".
    return ApiError(404, "not_found", f"no complaint {complaint_id}")


def _visible_complaint(complaint_id: str) -> dict:
    complaint = call("risk", "get_complaint", complaint_id)
    principal = current_principal()
    if principal.role == "consumer" and complaint["consumer_id"] != principal.subject or \
            principal.role == "merchant" and complaint["merchant_id"] != principal.subject:
        raise _not_yours(complaint_id)
    return complaint


@blueprint.post("/complaints")
@rate_limited(COMPLAINTS)
@require("consumer")
@idempotent
def file_complaint():
    body, consumer = json_body(ComplaintRequest()), current_principal().subject
    if body["card_id"]:
        card = call("escrow", "get_card", body["card_id"])
        if card["consumer_id"] != consumer or card["merchant_id"] != body["merchant_id"]:
            raise ApiError(404, "not_found", f"no card {body['card_id']}")
    else:
        call("merchant", "get", body["merchant_id"], False)  # 404 for an unknown merchant
    created = call("risk", "file_complaint", consumer, body["merchant_id"], body["card_id"],
                   body["category"], body["text"], metadata())
    return jsonify(ComplaintCreated().dump(created)), 201


@blueprint.get("/complaints/<complaint_id>")
@require("consumer", "merchant", "regulator")
def get_complaint(complaint_id: str):
    return jsonify(Complaint().dump(_visible_complaint(complaint_id)))


@blueprint.post("/complaints/<complaint_id>/response")
@require("merchant")
@idempotent
def respond(complaint_id: str):
    body = json_body(ComplaintResponse())
    answered = call("risk", "respond_to_complaint", complaint_id, current_principal().subject,
                    body["response"], metadata())
    # The state only, not the texts: an Idempotency-Key keeps this answer for replays, and
    # the texts are personal data that must not outlive their erasure there (GET has them).
    return jsonify(ComplaintState().dump(answered))


def _close(complaint_id: str, how: str):
    body = json_body(ComplaintClosing()) if request.get_data() else ComplaintClosing().load({})
    principal = current_principal()
    owner = principal.subject if principal.role == "consumer" else None
    closed = call("risk", "close_complaint", complaint_id, owner, actor(), how,
                  body["outcome"], metadata())
    return jsonify(ComplaintState().dump(closed))


@blueprint.post("/complaints/<complaint_id>/resolve")
@require("consumer", "regulator")
@idempotent
def resolve_complaint(complaint_id: str):
    return _close(complaint_id, "resolve")


@blueprint.post("/complaints/<complaint_id>/escalate")
@require("consumer")
@idempotent
def escalate_complaint(complaint_id: str):
    return _close(complaint_id, "escalate")


@blueprint.post("/complaints/<complaint_id>/unfounded")
@require("regulator")
@idempotent
def rule_unfounded(complaint_id: str):
    """A regulator finds the complaint unfounded: it stops counting toward the merchant's
    complaint rate and surge; the event records who, when and why."""
    body = json_body(UnfoundedFinding())
    ruled = call("risk", "rule_unfounded", complaint_id, actor(), body["note"], metadata())
    return jsonify(ComplaintRuling().dump(ruled))


@blueprint.get("/merchants/<merchant_id>/complaints")
@require("merchant", "regulator")
def merchant_complaints(merchant_id: str):
    """What consumers said about the merchant: the merchant's own list to respond to, and the
    regulator's view of it."""
    only_itself(merchant_id)
    args = query(ComplaintListQuery())
    scope = f"complaints/{merchant_id}"
    after, limit = page_args(args, scope)
    call("merchant", "get", merchant_id, False)  # 404 for a merchant that does not exist
    page = call("risk", "merchant_complaints", merchant_id, after, limit)
    return jsonify(ComplaintList().dump(page_body(page, scope)))


@blueprint.get("/merchants/<merchant_id>/health")
def health(merchant_id: str):
    """Public: the code, its reasons and the metrics that are not money. The merchant itself
    and regulators also see the money figures, as they do in /stats."""
    principal = current_principal()
    full = principal is not None and (principal.role == "regulator" or (
        principal.role == "merchant" and principal.subject == merchant_id))
    return jsonify(Health().dump(call("risk", "health_code", merchant_id, full)))


@blueprint.get("/merchants/<merchant_id>/credit-report")
@require("bank", "regulator", "merchant")
def credit_report(merchant_id: str):
    only_itself(merchant_id)
    return jsonify(CreditReport().dump(call("risk", "credit_report", merchant_id)))


@blueprint.get("/alerts")
@require("regulator")
def alerts():
    args = query(AlertQuery())
    scope = f"alerts/{args['status']}"
    after, limit = page_args(args, scope)
    page = call("risk", "alerts", args["status"], after, limit)
    return jsonify(AlertList().dump(page_body(page, scope)))


def _step(alert_id: str, step: str, **fields):
    done = call("risk", "alert_step", alert_id, step, actor(), metadata=metadata(), **fields)
    return jsonify(Alert().dump(done))


@blueprint.post("/alerts/<alert_id>/acknowledge")
@require("regulator")
@idempotent
def acknowledge(alert_id: str):
    return _step(alert_id, "acknowledged")


@blueprint.post("/alerts/<alert_id>/verify")
@require("regulator")
@idempotent
def verify(alert_id: str):
    return _step(alert_id, "verified", **json_body(Verification()))


@blueprint.post("/alerts/<alert_id>/resolve")
@require("regulator")
@idempotent
def resolve_alert(alert_id: str):
    return _step(alert_id, "resolved", **json_body(Resolution()))


def _op(summary: str, schema: str, errors: tuple[int, ...], **more) -> dict:
    return operation(summary, tag="risk", schema=schema, errors=errors, **more)


OPENAPI = {
    "/api/v1/complaints": {"post": _op(
        "File a complaint (consumer); at most the policy's number per merchant in its window",
        "ComplaintCreated", (400, 404, 422), status="201", body="ComplaintRequest",
        says={422: "complaint_limit_reached (too many against this merchant in the window), "
                   "personal_data_erased (the consumer erased their personal data)"})},
    "/api/v1/complaints/{complaint_id}": {"get": _op(
        "A complaint: its consumer, its merchant, regulators", "Complaint", (404,))},
    "/api/v1/complaints/{complaint_id}/response": {"post": _op(
        "The merchant's response, once; answers the state (GET the complaint for its texts)",
        "ComplaintState", (400, 404, 409, 422),
        says={422: "personal_data_erased: the complaint's consumer erased their personal data"},
        body="ComplaintResponse")},
    "/api/v1/complaints/{complaint_id}/resolve": {"post": _op(
        "Resolve (its consumer, or a regulator)", "ComplaintState", (400, 404),
        body="ComplaintClosing", body_optional=True)},
    "/api/v1/complaints/{complaint_id}/escalate": {"post": _op(
        "Escalate to the regulator (its consumer)", "ComplaintState", (400, 404, 409),
        body="ComplaintClosing", body_optional=True)},
    "/api/v1/complaints/{complaint_id}/unfounded": {"post": _op(
        "Find a complaint unfounded (regulator): it stops counting for the merchant",
        "ComplaintRuling", (400, 404), body="UnfoundedFinding")},
    "/api/v1/merchants/{merchant_id}/complaints": {"get": _op(
        "Complaints about the merchant, oldest first (the merchant itself, regulators)",
        "ComplaintList", (400, 404), params=PAGE_PARAMS)},
    "/api/v1/merchants/{merchant_id}/health": {"get": _op(
        "The 预付健康码 with its reasons and metrics (public). Anyone sees the ratio, day and "
        "count metrics; the money figures (issued_*, redeemed_*, outstanding, escrow_held) "
        "only the merchant itself and regulators, with their bearer token", "Health",
        (404,))},
    "/api/v1/merchants/{merchant_id}/credit-report": {"get": _op(
        "A signed credit recommendation for a green merchant (banks, regulators, itself)",
        "CreditReport", (404, 422))},
    "/api/v1/alerts": {"get": _op(
        "Alerts, oldest first, with their SLA age (regulator)", "AlertList", (400,),
        params=(param("status", description="open (default), acknowledged, verified or "
                      "any"),) + PAGE_PARAMS)},
    "/api/v1/alerts/{alert_id}/acknowledge": {"post": _op(
        "Acknowledge an alert", "Alert", (404, 409))},
    "/api/v1/alerts/{alert_id}/verify": {"post": _op(
        "Record the offline verification: a note and the evidence's SHA-256", "Alert",
        (400, 404, 409), body="Verification")},
    "/api/v1/alerts/{alert_id}/resolve": {"post": _op(
        "Dispose of an alert", "Alert", (400, 404, 409), body="Resolution")},
}
SCHEMAS = {"ComplaintRequest": ComplaintRequest, "ComplaintCreated": ComplaintCreated,
           "Complaint": Complaint, "ComplaintList": ComplaintList,
           "ComplaintResponse": ComplaintResponse,
           "ComplaintClosing": ComplaintClosing, "ComplaintState": ComplaintState,
           "UnfoundedFinding": UnfoundedFinding, "ComplaintRuling": ComplaintRuling,
           "Health": Health, "CreditReport": CreditReport, "Alert": Alert,
           "AlertList": AlertList, "Verification": Verification, "Resolution": Resolution}
