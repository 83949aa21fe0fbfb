"""A consumer's erasure of their own personal data (crypto-shredding, services.erasure)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from services import erasure
from services.gateway.auth import current_principal, require
from services.gateway.openapi import operation
from services.gateway.remote import call
from services.gateway.schemas.privacy import Erased

blueprint = Blueprint("privacy", __name__, url_prefix="/api/v1")


@blueprint.delete("/consumers/me")
@require("consumer")
def forget_me():
    """Deletes the caller's keys: their complaint texts (and the responses to them) read as
    erased everywhere from now on. Cards, money and receipts stay: they hold no personal data
    and the ledger never held any. Repeating it changes nothing."""
    subject = current_principal().subject
    erasure.forget("consumer", subject, call)
    return jsonify(Erased().dump({"status": "erased"}))


OPENAPI = {
    "/api/v1/consumers/me": {"delete": operation(
        "Erase the caller's personal data for good (consumer): complaint texts and the "
        "responses to them read as null from then on", tag="privacy", schema="Erased",
        errors=(503,))},
}
SCHEMAS = {"Erased": Erased}
