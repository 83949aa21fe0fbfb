from marshmallow import fields, validate

from services.gateway.schemas import Money, StrictSchema


class PurchaseRequest(StrictSchema):
    product_id = fields.String(required=True, validate=validate.Length(min=1, max=100))


class Payment(StrictSchema):
    payment_id = fields.String(required=True)
    amount = Money(required=True)


class PurchaseResponse(StrictSchema):
    card_id = fields.String(required=True)
    status = fields.String(required=True)
    payment = fields.Nested(Payment, required=True)


class PaymentConfirmation(StrictSchema):
    amount = Money(
        validate=validate.Range(min=1),
        metadata={"description": "the amount received; the card's price if absent"},
    )


class Balance(StrictSchema):
    value = Money()
    uses = fields.Integer()
    days_left = fields.Integer()


class Card(StrictSchema):
    card_id = fields.String(required=True)
    type = fields.String(required=True)
    status = fields.String(required=True)
    merchant_id = fields.String(required=True)
    product_id = fields.String(required=True)
    balance = fields.Nested(Balance, required=True)
    deposited = Money(required=True)
    escrow_held = Money(required=True)
    released_amount = Money(required=True)
    refunded_amount = Money(required=True)
    expires_at = fields.String(allow_none=True, required=True)


class CardList(StrictSchema):
    items = fields.List(fields.Nested(Card), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class RedemptionRequest(StrictSchema):
    amount = Money(validate=validate.Range(min=1))
    uses = fields.Integer(strict=True, validate=validate.Range(min=1))


class RedemptionCreated(StrictSchema):
    redemption_id = fields.String(required=True)
    status = fields.String(required=True)
    expires_at = fields.String(required=True)


class RedemptionConfirmed(StrictSchema):
    status = fields.String(required=True)
    released_amount = Money(required=True)
    event_id = fields.String(required=True)


class RedemptionRejected(StrictSchema):
    status = fields.String(required=True)


class RefundRequest(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class RefundResponse(StrictSchema):
    status = fields.String(required=True)
    refund_amount = Money(required=True)
    rule = fields.String(required=True)
    event_id = fields.String(required=True)
    due_on = fields.String(
        metadata={"description": "the date the bank must have paid it by (YYYY-MM-DD)"}
    )


class OverdueRefund(StrictSchema):
    card_id = fields.String(required=True)
    amount = Money(required=True)
    rule = fields.String(required=True)
    refunded_at = fields.String(required=True)
    due_on = fields.String(required=True)
    days_overdue = fields.Integer(required=True)


class OverdueRefundList(StrictSchema):
    items = fields.List(fields.Nested(OverdueRefund), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
