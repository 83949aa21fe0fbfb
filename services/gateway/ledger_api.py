"""The ledger endpoints: checkpoint, entries, receipts and consistency proofs."""
from __future__ import annotations

from flask import Blueprint, jsonify

from services.gateway.auth import current_principal, require
from services.gateway.errors import ApiError
from services.gateway.openapi import operation, param
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
    principal = current_principal()
    consumer = principal.subject if principal.role == "consumer" else None
    found = call("ledger", "receipt", event_id, consumer)
    # Someone who is not a party learns nothing, not even that the event exists. An entry
    # names its consumer by a pseudonym per merchant, which the ledger matches for us.
    if found is None or not (
            principal.role in AUDITORS or consumer is not None and found["consumer_is_party"]
            or principal.role == "merchant"
            and found["parties"].get("merchant_id") == principal.subject):
        raise ApiError(404, "not_found", "no notarised event with that id for you")
    found.pop("parties")
    found.pop("consumer_is_party")
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


def _op(summary: str, schema: str, errors: tuple[int, ...], **more) -> dict:
    return {"get": operation(summary, tag="ledger", schema=schema, errors=errors, **more)}


def _integer(name: str) -> dict:
    return param(name, "integer", required=True)


OPENAPI = {
    "/api/v1/ledger/checkpoint": _op("The newest checkpoint cosigned by the witness quorum",
                                     "CheckpointResponse", (404, 503),
                                     says={404: "no checkpoint published yet"}),
    "/api/v1/ledger/entries": _op("Entries [start, end) with their canonical bytes",
                                  "EntriesResponse", (400, 503),
                                  params=(_integer("start"), _integer("end"))),
    "/api/v1/ledger/receipts/{event_id}": _op(
        "Inclusion proof of an event against the published checkpoint (the event's parties, "
        "regulators, banks)", "ReceiptResponse", (404, 503)),
    "/api/v1/ledger/consistency": _op("RFC 9162 consistency proof between two tree sizes",
                                      "ConsistencyResponse", (400, 404, 503),
                                      params=(_integer("first"), _integer("second"))),
}
SCHEMAS = {"CheckpointResponse": CheckpointResponse, "EntriesResponse": EntriesResponse,
           "ReceiptResponse": ReceiptResponse, "ConsistencyResponse": ConsistencyResponse}
