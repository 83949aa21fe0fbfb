"""The ledger endpoints: checkpoint, entries, receipts and consistency proofs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from services.gateway import access
from services.gateway.auth import require
from services.gateway.clients import clients
from services.gateway.errors import ApiError
from services.gateway.openapi import operation, param
from services.gateway.request_context import principal
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


def _integer(name: str) -> dict:
    return param(name, "integer", required=True)


def _published() -> dict[str, Any]:
    checkpoint = clients().ledger.checkpoint()
    if checkpoint is None:
        raise ApiError(404, "no_checkpoint", "no checkpoint has been published yet")
    return checkpoint


@blueprint.get("/checkpoint")
@operation(
    "The newest checkpoint cosigned by the witness quorum",
    tag="ledger",
    response=CheckpointResponse,
    errors=(404, 503),
    says={404: "no checkpoint published yet"},
)
def checkpoint():
    return jsonify(CheckpointResponse().dump(_published()))


@blueprint.get("/entries")
@operation(
    "Entries [start, end) with their canonical bytes",
    tag="ledger",
    response=EntriesResponse,
    errors=(400, 503),
    params=(_integer("start"), _integer("end")),
)
@require(*access.AUDITORS)
def entries():
    args = query(EntriesQuery())
    items = clients().ledger.entries(args["start"], args["end"])
    more = len(items) == args["end"] - args["start"]
    return jsonify(
        EntriesResponse().dump({"items": items, "next_cursor": str(args["end"]) if more else None})
    )


@blueprint.get("/receipts/<event_id>")
@operation(
    "Inclusion proof of an event against the published checkpoint (the event's "
    "parties, the owner of the card it names, regulators, banks)",
    tag="ledger",
    response=ReceiptResponse,
    errors=(404, 503),
)
@require()
def receipt(event_id: str):
    asking = principal()
    # An entry names its consumer by a pseudonym per merchant, which the ledger matches for
    # the consumer it is given; an entry naming only a card is the card owner's (access.py).
    found = clients().ledger.receipt(event_id, access.consumer_scope(asking))
    return jsonify(ReceiptResponse().dump(access.visible_receipt(asking, found, _card_or_none)))


def _card_or_none(card_id: str) -> dict[str, Any] | None:
    """The escrow's card; None for an id it does not know, and while the escrow does not
    answer: a 503 here would tell a caller who is not a party that the event exists (an
    unknown id is a 404 without asking the escrow). The owner sees the receipt again once
    the escrow answers; any other failure stands."""
    try:
        return clients().escrow.get_card(card_id)
    except ApiError as exc:
        if exc.status not in (404, 503):
            raise
        return None


@blueprint.get("/consistency")
@operation(
    "RFC 9162 consistency proof between two tree sizes",
    tag="ledger",
    response=ConsistencyResponse,
    errors=(400, 404, 503),
    params=(_integer("first"), _integer("second")),
)
def consistency():
    args = query(ConsistencyQuery())
    published = _published()
    if args["second"] > published["size"]:
        raise ApiError(
            400,
            "invalid_input",
            "second is beyond the published checkpoint",
            {"published_size": published["size"]},
        )
    proof = clients().ledger.consistency(args["first"], args["second"])
    return jsonify(ConsistencyResponse().dump({"proof": proof}))
