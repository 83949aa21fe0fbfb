"""GET /api/v1/keys: every public key a verifier needs, from the services that hold them.

A consumer's browser, a bank or an auditor checks a checkpoint (the log's signature and the
witnesses' cosignatures), a receipt against it, and a credit report with these alone.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from services.gateway.clients import clients
from services.gateway.openapi import operation
from services.gateway.schemas.ledger import Keys

blueprint = Blueprint("keys", __name__, url_prefix="/api/v1")


@blueprint.get("/keys")
@operation(
    "The public keys to verify checkpoints, receipts and credit reports offline: the "
    "log's and the witnesses' C2SP verifier keys, and the credit reports' Ed25519 key",
    tag="ledger",
    response=Keys,
    errors=(503,),
)
def keys():
    published = clients().ledger.keys()
    return jsonify(Keys().dump({**published, "credit_report": clients().risk.credit_key()}))
