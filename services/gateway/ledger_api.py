"""The ledger endpoints: checkpoint, entries, receipts and consistency proofs."""
from __future__ import annotations

from flask import Blueprint, jsonify

from services.gateway.auth import current_principal, require
from services.gateway.errors import ApiError
from services.gateway.remote import call
from services.gateway.schemas.ledger import (
    CheckpointResponse,
    ConsistencyQuery,
    ConsistencyResponse,
    EntriesQuery,
    EntriesResponse,
    ReceiptResponse,
)
from services.gateway.validation import query

blueprint = Blueprint("ledger", __name__, url_prefix="/api/v1/ledger")

AUDITORS = ("regulator", "bank")


def _published() -> dict:
    checkpoint = call("ledger", "checkpoint")
    if checkpoint is None:
        raise ApiError(404, "no_checkpoint", "no checkpoint has been published yet")
    return checkpoint


@blueprint.get("/checkpoint")
def checkpoint():
    return jsonify(CheckpointResponse().dump(_published()))


@blueprint.get("/entries")
@require(*AUDITORS)
def entries():
    args = query(EntriesQuery())
    items = call("ledger", "entries", args["start"], args["end"])
    more = len(items) == args["end"] - args["start"]
    return jsonify(EntriesResponse().dump({"items": items,
                                           "next_cursor": str(args["end"]) if more else None}))


@blueprint.get("/receipts/<event_id>")
@require()
def receipt(event_id: str):
    found = call("ledger", "receipt", event_id)
    principal = current_principal()
    # Someone who is not a party learns nothing, not even that the event exists.
    own_field = {"consumer": "consumer_id", "merchant": "merchant_id"}.get(principal.role)
    if found is None or not (principal.role in AUDITORS or own_field is not None
                             and found["parties"].get(own_field) == principal.subject):
        raise ApiError(404, "not_found", "no notarised event with that id for you")
    found.pop("parties")
    return jsonify(ReceiptResponse().dump(found))


@blueprint.get("/consistency")
def consistency():
    args = query(ConsistencyQuery())
    published = _published()
    if args["second"] > published["size"]:
        raise ApiError(400, "invalid_input", "second is beyond the published checkpoint",
                       {"published_size": published["size"]})
    proof = call("ledger", "consistency", args["first"], args["second"])
    return jsonify(ConsistencyResponse().dump({"proof": proof}))


def _op(summary, response, roles=None, params=None, errors=(404, 503)):
    op = {"summary": summary, "tags": ["ledger"],
          "responses": {"200": {"description": "ok",
                                "content": {"application/json": {"schema": response}}},
                        **{str(code): {"description": "error"} for code in errors}}}
    if roles is not None:
        op["security"] = [{"bearer": []}]
        op["x-roles"] = list(roles)
    if params:
        op["parameters"] = params
    return {"get": op}


def _param(name, where="query"):
    return {"name": name, "in": where, "required": True, "schema": {"type": "integer"
            if where == "query" else "string"}}


OPENAPI = {
    "/api/v1/ledger/checkpoint": _op("The newest checkpoint cosigned by the witness quorum",
                                     "CheckpointResponse"),
    "/api/v1/ledger/entries": _op("Entries [start, end) with their canonical bytes",
                                  "EntriesResponse", AUDITORS,
                                  [_param("start"), _param("end")], (400, 401, 403, 503)),
    "/api/v1/ledger/receipts/{event_id}": _op(
        "Inclusion proof of an event against the published checkpoint (parties only)",
        "ReceiptResponse", ("a party to the event", *AUDITORS),
        [_param("event_id", "path")], (401, 404, 503)),
    "/api/v1/ledger/consistency": _op("RFC 9162 consistency proof between two tree sizes",
                                      "ConsistencyResponse", None,
                                      [_param("first"), _param("second")], (400, 404, 503)),
}
SCHEMAS = {"CheckpointResponse": CheckpointResponse, "EntriesResponse": EntriesResponse,
           "ReceiptResponse": ReceiptResponse, "ConsistencyResponse": ConsistencyResponse}
