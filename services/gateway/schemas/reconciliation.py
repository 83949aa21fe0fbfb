"""The daily reconciliation's reports (the escrow's view of each finished day)."""

from marshmallow import fields, validate

from services.gateway.schemas import Money, StrictSchema

STATUSES = ("matched", "differences")
SIDES = ("missing_at_bank", "unexpected_at_bank")


class Difference(StrictSchema):
    side = fields.String(
        required=True,
        validate=validate.OneOf(SIDES),
        metadata={
            "description": "missing_at_bank: the escrow moved it, the statement does not show "
            "it; unexpected_at_bank: the statement shows it, the escrow never moved it"
        },
    )
    kind = fields.String(required=True, metadata={"description": "deposit, refund or payout"})
    reference = fields.String(
        required=True, metadata={"description": "the payment id (deposit, refund) or payout id"}
    )
    amount = Money(required=True)
    count = fields.Integer(required=True, metadata={"description": "how many such lines"})


class Reconciliation(StrictSchema):
    date = fields.String(required=True, metadata={"description": "the UTC day, YYYY-MM-DD"})
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    matched = fields.Integer(
        required=True, metadata={"description": "statement lines that match a movement"}
    )
    differences = fields.List(
        fields.Nested(Difference),
        required=True,
        metadata={"description": "the first 100 differences of the day"},
    )
    differences_total = fields.Integer(
        metadata={"description": "how many differences the day has in all"}
    )
    reconciled_at = fields.String(required=True)


class ReconciliationList(StrictSchema):
    items = fields.List(fields.Nested(Reconciliation), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
