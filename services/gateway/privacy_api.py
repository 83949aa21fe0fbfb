"""A consumer's erasure of their own personal data (crypto-shredding, services.erasure)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from services.gateway import request_context
from services.gateway.auth import require
from services.gateway.clients import clients
from services.gateway.openapi import operation
from services.gateway.schemas.privacy import Erased

blueprint = Blueprint("privacy", __name__, url_prefix="/api/v1")


@blueprint.delete("/consumers/me")
@operation(
    "Erase the caller's personal data for good (consumer): complaint texts and the "
    "responses to them read as null from then on",
    tag="privacy",
    response=Erased,
    errors=(503,),
)
@require("consumer")
def forget_me():
    """Deletes the caller's keys: their complaint texts (and the responses to them) read as
    erased everywhere from now on. Cards, money and receipts stay: they hold no personal data
    and the ledger never held any. Repeating it changes nothing."""
    clients().forget("consumer", request_context.principal().subject)
    return jsonify(Erased().dump({"status": "erased"}))
