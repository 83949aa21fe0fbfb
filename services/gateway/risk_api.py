"""Complaints, health codes, ratings and credit reports (the risk service); the regulators'
alert queue is alerts_api.py's.

Who may see a complaint (the consumer who filed it, the merchant it is about, regulators) is
services/gateway/access.py's.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from services.gateway import access
from services.gateway.auth import require
from services.gateway.clients import clients
from services.gateway.idempotency import idempotent
from services.gateway.openapi import operation
from services.gateway.paging import PAGE_PARAMS, page_args, page_body
from services.gateway.rate_limits import COMPLAINTS, rate_limited
from services.gateway.request_context import actor, caller, metadata, principal
from services.gateway.schemas.risk import (
    Complaint,
    ComplaintClosing,
    ComplaintCreated,
    ComplaintList,
    ComplaintListQuery,
    ComplaintRequest,
    ComplaintResponse,
    ComplaintRuling,
    ComplaintState,
    ConsumerComplaintList,
    CreditReport,
    Health,
    MerchantRatings,
    RatingCreated,
    RatingRequest,
    UnfoundedFinding,
)
from services.gateway.validation import json_body, query

blueprint = Blueprint("risk", __name__, url_prefix="/api/v1")


@blueprint.post("/complaints")
@operation(
    "File a complaint (consumer); at most the policy's number per merchant in its window",
    tag="risk",
    response=ComplaintCreated,
    errors=(400, 404, 422),
    status=201,
    body=ComplaintRequest,
    says={
        422: "complaint_limit_reached (too many against this merchant in the "
        "window), personal_data_erased (the consumer erased their personal data)"
    },
)
@rate_limited(COMPLAINTS)
@require("consumer")
@idempotent
def file_complaint():
    body, consumer = json_body(ComplaintRequest()), principal().subject
    if body["card_id"]:
        access.own_card_at(
            consumer,
            body["card_id"],
            clients().escrow.get_card(body["card_id"]),
            body["merchant_id"],
        )
    else:
        clients().merchant.get(body["merchant_id"])  # 404 for an unknown merchant
    created = clients().risk.file_complaint(
        consumer, body["merchant_id"], body["card_id"], body["category"], body["text"], metadata()
    )
    return jsonify(ComplaintCreated().dump(created)), 201


@blueprint.get("/complaints/<complaint_id>")
@operation(
    "A complaint: its consumer, its merchant, regulators",
    tag="risk",
    response=Complaint,
    errors=(404,),
)
@require("consumer", "merchant", "regulator")
def get_complaint(complaint_id: str):
    complaint = access.visible_complaint(
        principal(), complaint_id, clients().risk.get_complaint(complaint_id)
    )
    return jsonify(Complaint().dump(complaint))


@blueprint.post("/complaints/<complaint_id>/response")
@operation(
    "The merchant's response, once; answers the state (GET the complaint for its texts)",
    tag="risk",
    response=ComplaintState,
    errors=(400, 404, 409, 422),
    says={422: "personal_data_erased: the complaint's consumer erased their personal data"},
    body=ComplaintResponse,
)
@require("merchant")
@idempotent
def respond(complaint_id: str):
    body = json_body(ComplaintResponse())
    answered = clients().risk.respond_to_complaint(
        complaint_id, principal().subject, body["response"], metadata()
    )
    # The state only, not the texts: an Idempotency-Key keeps this answer for replays, and
    # the texts are personal data that must not outlive their erasure there (GET has them).
    return jsonify(ComplaintState().dump(answered))


def _close(complaint_id: str, how: str) -> Response:
    body = json_body(ComplaintClosing()) if request.get_data() else ComplaintClosing().load({})
    # A consumer closes only their own complaint: the service checks the owner it is given.
    owner = access.consumer_scope(principal())
    closed = clients().risk.close_complaint(
        complaint_id, owner, actor(), how, body["outcome"], metadata()
    )
    return jsonify(ComplaintState().dump(closed))


@blueprint.post("/complaints/<complaint_id>/resolve")
@operation(
    "Resolve (its consumer, or a regulator)",
    tag="risk",
    response=ComplaintState,
    errors=(400, 404),
    body=ComplaintClosing,
    body_optional=True,
)
@require("consumer", "regulator")
@idempotent
def resolve_complaint(complaint_id: str):
    return _close(complaint_id, "resolve")


@blueprint.post("/complaints/<complaint_id>/escalate")
@operation(
    "Escalate to the regulator (its consumer)",
    tag="risk",
    response=ComplaintState,
    errors=(400, 404, 409),
    body=ComplaintClosing,
    body_optional=True,
)
@require("consumer")
@idempotent
def escalate_complaint(complaint_id: str):
    return _close(complaint_id, "escalate")


@blueprint.post("/complaints/<complaint_id>/unfounded")
@operation(
    "Find a complaint unfounded (regulator): it stops counting for the merchant",
    tag="risk",
    response=ComplaintRuling,
    errors=(400, 404),
    body=UnfoundedFinding,
)
@require("regulator")
@idempotent
def rule_unfounded(complaint_id: str):
    """A regulator finds the complaint unfounded: it stops counting toward the merchant's
    complaint rate and surge; the event records who, when and why."""
    body = json_body(UnfoundedFinding())
    ruled = clients().risk.rule_unfounded(complaint_id, actor(), body["note"], metadata())
    return jsonify(ComplaintRuling().dump(ruled))


@blueprint.get("/merchants/<merchant_id>/complaints")
@operation(
    "Complaints about the merchant, oldest first (the merchant itself, regulators)",
    tag="risk",
    response=ComplaintList,
    errors=(400, 404),
    params=PAGE_PARAMS,
)
@require("merchant", "regulator")
def merchant_complaints(merchant_id: str):
    """What consumers said about the merchant: the merchant's own list to respond to, and the
    regulator's view of it."""
    access.only_itself(principal(), merchant_id)
    args = query(ComplaintListQuery())
    scope = f"complaints/{merchant_id}"
    after, limit = page_args(args, scope)
    clients().merchant.get(merchant_id)  # 404 for a merchant that does not exist
    page = clients().risk.merchant_complaints(merchant_id, after, limit)
    return jsonify(ComplaintList().dump(page_body(page, scope)))


@blueprint.get("/consumers/me/complaints")
@operation(
    "The consumer's own complaints, newest first, with the merchant's response and what "
    "they may do next",
    tag="risk",
    response=ConsumerComplaintList,
    errors=(400,),
    params=PAGE_PARAMS,
)
@require("consumer")
def my_complaints():
    consumer = principal().subject
    scope = f"my-complaints/{consumer}"
    after, limit = page_args(query(ComplaintListQuery()), scope)
    page = clients().risk.consumer_complaints(consumer, after, limit)
    return jsonify(ConsumerComplaintList().dump(page_body(page, scope)))


@blueprint.post("/redemptions/<redemption_id>/rating")
@operation(
    "Rate a confirmed spend, 1 to 5 stars and a short text (the consumer who confirmed it), once",
    tag="risk",
    response=RatingCreated,
    errors=(400, 404, 409, 422),
    status=201,
    body=RatingRequest,
    says={
        409: "spend_not_confirmed (not learnt as confirmed yet: retry shortly), "
        "already_rated (a different rating of this spend exists)",
        422: "personal_data_erased: the consumer erased their personal data",
    },
)
@require("consumer")
@idempotent
def rate_spend(redemption_id: str):
    body = json_body(RatingRequest())
    # The service answers 404 for a spend that is not this consumer's.
    rated = clients().risk.rate_spend(
        redemption_id, principal().subject, body["stars"], body["text"], metadata()
    )
    return jsonify(RatingCreated().dump(rated)), 201


@blueprint.get("/merchants/<merchant_id>/ratings")
@operation(
    "The merchant's ratings (好差评): the average in tenths of a star, the count, and the "
    "ratings newest first without who gave them (public)",
    tag="risk",
    response=MerchantRatings,
    errors=(400, 404),
    params=PAGE_PARAMS,
)
def merchant_ratings(merchant_id: str):
    scope = f"ratings/{merchant_id}"
    after, limit = page_args(query(ComplaintListQuery()), scope)
    clients().merchant.get(merchant_id)  # 404 for a merchant that does not exist
    page = clients().risk.merchant_ratings(merchant_id, after, limit)
    return jsonify(MerchantRatings().dump({**page, **page_body(page, scope)}))


@blueprint.get("/merchants/<merchant_id>/health")
@operation(
    "The 预付健康码 with its reasons and metrics (public). Anyone sees the ratio, day "
    "and count metrics; the money figures (issued_*, redeemed_*, outstanding, "
    "escrow_held) only the merchant itself and regulators, with their bearer token",
    tag="risk",
    response=Health,
    errors=(404,),
)
def health(merchant_id: str):
    """Public: the code, its reasons and the metrics that are not money. The merchant itself
    and regulators also see the money figures, as they do in /stats."""
    full = access.sees_merchant_money(caller(), merchant_id)
    return jsonify(Health().dump(clients().risk.health_code(merchant_id, full)))


@blueprint.get("/merchants/<merchant_id>/credit-report")
@operation(
    "A signed credit recommendation for a green merchant (banks, regulators, itself)",
    tag="risk",
    response=CreditReport,
    errors=(404, 422),
)
@require("bank", "regulator", "merchant")
def credit_report(merchant_id: str):
    access.only_itself(principal(), merchant_id)
    return jsonify(CreditReport().dump(clients().risk.credit_report(merchant_id)))
