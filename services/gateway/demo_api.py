"""POST /api/v1/demo/clock: demo mode's simulated time. An operator moves the platform's clock
forward and the scheduled work runs at once for the new time (holds lapse, cards expire,
period money is released, payouts are made, codes are re-evaluated, deadlines enforced).

It exists only in demo mode with a clock file (`make run`); elsewhere it is 404.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from marshmallow import fields, validate

from services import clock
from services.gateway.auth import require
from services.gateway.clients import clients
from services.gateway.errors import ApiError
from services.gateway.idempotency import idempotent
from services.gateway.openapi import operation
from services.gateway.schemas import StrictSchema
from services.gateway.validation import json_body
from services.paged_work import run_pages

blueprint = Blueprint("demo", __name__, url_prefix="/api/v1/demo")


class ClockAdvance(StrictSchema):
    days = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=400))


class ClockMoved(StrictSchema):
    now = fields.String(required=True)
    escrow = fields.Dict(required=True)
    risk = fields.Dict(required=True)


@blueprint.post("/clock")
@operation(
    "Demo only: move the platform's clock forward and run the scheduled work",
    tag="demo",
    response=ClockMoved,
    body=ClockAdvance,
    errors=(400, 404, 503),
    ok="moved",
    says={404: "not a demo platform"},
)
@require("operator")
@idempotent
def advance_clock():
    """Each call moves time on; a retry with the same Idempotency-Key moves it only once."""
    if current_app.config["SETTINGS"].mode != "demo" or clock.clock_file() is None:
        raise ApiError(404, "not_found", "the clock moves only on a demo platform")
    body = json_body(ClockAdvance())
    moved = clock.advance(body["days"])
    # Page after page: each call answers well within the RPC timeout however much falls due.
    escrow = run_pages(clients().escrow.sweep)
    return jsonify(
        ClockMoved().dump(
            {"now": moved.isoformat(), "escrow": escrow, "risk": clients().risk.sweep()}
        )
    )
