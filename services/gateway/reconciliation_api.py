"""The daily reconciliation of the escrow account with the bank's statements: each finished
day's report, for the regulators' workbench and the bank (the escrow's views)."""

from __future__ import annotations

import datetime

from flask import Blueprint, jsonify

from services.gateway.auth import require
from services.gateway.clients import clients
from services.gateway.errors import ApiError
from services.gateway.openapi import operation
from services.gateway.paging import PAGE_PARAMS, PageQuery, page_args, page_body
from services.gateway.schemas.reconciliation import Reconciliation, ReconciliationList
from services.gateway.validation import query

blueprint = Blueprint("reconciliation", __name__, url_prefix="/api/v1/reconciliation")
SCOPE = "reconciliation"


@blueprint.get("")
@operation(
    "Reconciled days, newest first, each matched or with its differences (regulators, the bank)",
    tag="regulator",
    response=ReconciliationList,
    errors=(400,),
    params=PAGE_PARAMS,
)
@require("regulator", "bank")
def reconciliations():
    after, limit = page_args(query(PageQuery()), SCOPE)
    page = clients().escrow.reconciliations(after, limit)
    return jsonify(ReconciliationList().dump(page_body(page, SCOPE)))


@blueprint.get("/<date>")
@operation(
    "One UTC day's reconciliation of the bank's statement with the escrow's movements "
    "(regulators, the bank)",
    tag="regulator",
    response=Reconciliation,
    errors=(400, 404),
    says={404: "the day is not reconciled yet (not_reconciled)"},
)
@require("regulator", "bank")
def reconciliation(date: str):
    if not _is_day(date):
        raise ApiError(400, "invalid_date", "the date must be a day, YYYY-MM-DD")
    return jsonify(Reconciliation().dump(clients().escrow.reconciliation(date)))


def _is_day(text: str) -> bool:
    try:
        return len(text) == 10 and datetime.date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False
