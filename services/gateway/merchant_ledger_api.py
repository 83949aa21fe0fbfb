"""The ledger entries naming a merchant, newest first, each with the event id its receipt is
looked up by (/api/v1/ledger/receipts/{event_id}). Seen by auditors and the merchant itself
(access.py); an entry's parties, and so a consumer's pseudonym, are never in the list."""

from __future__ import annotations

import re

from flask import Blueprint, jsonify

from services.gateway import access
from services.gateway.auth import require
from services.gateway.clients import clients
from services.gateway.errors import ApiError
from services.gateway.openapi import operation
from services.gateway.paging import PAGE_PARAMS, PageQuery, page_args, page_body
from services.gateway.request_context import principal
from services.gateway.schemas.ledger import MerchantLedgerPage
from services.gateway.validation import query

INDEX = re.compile(r"[0-9]{1,18}")

blueprint = Blueprint("merchant_ledger", __name__, url_prefix="/api/v1/merchants")


@blueprint.get("/<merchant_id>/ledger")
@operation(
    "The ledger entries naming the merchant under the published checkpoint, newest first "
    "(regulators, banks, the merchant itself); a merchant the ledger has no entry about has "
    "an empty list",
    tag="ledger",
    response=MerchantLedgerPage,
    errors=(400, 404, 503),
    params=PAGE_PARAMS,
)
@require("merchant", *access.AUDITORS)
def merchant_ledger(merchant_id: str):
    access.only_itself(principal(), merchant_id)
    scope = f"merchant-ledger/{merchant_id}"
    after, limit = page_args(query(PageQuery()), scope)
    if after and not INDEX.fullmatch(after):  # keys are indexes: anything else is not ours
        raise ApiError(400, "invalid_cursor", "cursor is not a next_cursor of this list")
    page = clients().ledger.merchant_entries(merchant_id, after, limit)
    return jsonify(MerchantLedgerPage().dump(page_body(page, scope)))
