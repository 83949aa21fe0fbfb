from marshmallow import fields, validate

from services.gateway.paging import PageQuery
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
    card_code = fields.String(
        metadata={
            "description": "12 digits the consumer shows at the counter; the last is a "
            "check digit (Damm), shown in groups of four"
        }
    )


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


CONSUMER_REFUND_RULES = ("cooling_off", "on_request")


class RefundRequest(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    rule = fields.String(
        validate=validate.OneOf(CONSUMER_REFUND_RULES),
        metadata={
            "description": "the rule quoted (422 if it does not apply); without it, "
            "cooling-off while it applies, else on request"
        },
    )


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


class RefundQuoteQuery(StrictSchema):
    rule = fields.String(validate=validate.OneOf(CONSUMER_REFUND_RULES))


class RefundQuote(StrictSchema):
    card_id = fields.String(required=True)
    refund_amount = Money(required=True)
    rule = fields.String(required=True)
    inputs = fields.Dict(
        required=True, metadata={"description": "the formula's inputs (fen, uses, days)"}
    )
    quoted_at = fields.String(required=True)


class HistoryItem(StrictSchema):
    event_id = fields.String(
        required=True, metadata={"description": "its receipt: GET /ledger/receipts/{event_id}"}
    )
    type = fields.String(
        required=True,
        metadata={
            "description": "deposit | redemption_confirmed | release | refund | deposit_returned"
        },
    )
    amount = Money(required=True, metadata={"description": "the money the event moved, fen"})
    at = fields.String(required=True)
    redemption_id = fields.String()
    rule = fields.String()
    reason = fields.String()
    upfront_amount = Money()


class CardHistory(StrictSchema):
    card_id = fields.String(required=True)
    items = fields.List(fields.Nested(HistoryItem), required=True)


REDEMPTION_STATUSES = ("pending", "confirmed", "rejected", "expired", "voided", "all")


class Redemption(StrictSchema):
    redemption_id = fields.String(required=True)
    card_id = fields.String(required=True)
    card_type = fields.String(required=True)
    merchant_id = fields.String(required=True)
    merchant_name = fields.String(allow_none=True)
    amount = Money(metadata={"description": "face value asked of a stored-value card"})
    uses = fields.Integer(metadata={"description": "uses asked of a count card"})
    requested_at = fields.String(required=True)
    expires_at = fields.String(required=True)
    status = fields.String(
        required=True,
        metadata={"description": "pending | confirmed | rejected | expired | voided"},
    )
    closed_at = fields.String(allow_none=True)


class ConsumerRedemptionQuery(PageQuery):
    status = fields.String(load_default="pending", validate=validate.OneOf(REDEMPTION_STATUSES))


class MerchantRedemptionQuery(PageQuery):
    status = fields.String(load_default="all", validate=validate.OneOf(REDEMPTION_STATUSES))


class RedemptionList(StrictSchema):
    items = fields.List(fields.Nested(Redemption), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class CounterLookup(StrictSchema):
    card_code = fields.String(required=True, validate=validate.Length(min=1, max=40))


class DailyStatsQuery(StrictSchema):
    start = fields.Date(required=True, data_key="from")
    end = fields.Date(required=True, data_key="to")


class DailyFigures(StrictSchema):
    day = fields.String(required=True)
    cards_issued = fields.Integer(required=True)
    issuance_amount = Money(required=True)
    redemptions_confirmed = fields.Integer(required=True)
    redemption_amount = Money(required=True)
    upfront_paid = Money(required=True)
    cards_refunded = fields.Integer(required=True)
    refund_amount = Money(required=True)
    open_cards = fields.Integer(required=True, metadata={"description": "at the end of the day"})
    outstanding_balance = Money(required=True, metadata={"description": "at the end of the day"})
    escrow_held = Money(required=True, metadata={"description": "at the end of the day"})


class DailyStats(StrictSchema):
    merchant_id = fields.String(required=True)
    currency = fields.String(required=True)
    items = fields.List(fields.Nested(DailyFigures), required=True)
