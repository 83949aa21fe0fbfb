from marshmallow import fields, validate

from services.gateway.paging import PageQuery
from services.gateway.schemas import StrictSchema
from services.risk.domain.complaints import CATEGORIES
from services.risk.domain.ratings import MAX_STARS, MAX_TEXT, MIN_STARS

TEXT = validate.Length(min=1, max=4000)


class ComplaintRequest(StrictSchema):
    merchant_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    card_id = fields.String(validate=validate.Length(min=1, max=100), load_default=None)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    text = fields.String(required=True, validate=TEXT)


class ComplaintCreated(StrictSchema):
    complaint_id = fields.String(required=True)
    status = fields.String(required=True)


class Complaint(StrictSchema):
    complaint_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    card_id = fields.String(allow_none=True)
    category = fields.String(required=True)
    status = fields.String(required=True)
    responded = fields.Boolean(required=True)
    filed_at = fields.String(required=True)
    text = fields.String(allow_none=True, metadata={"description": "null once erased"})
    response = fields.String(allow_none=True)
    unfounded = fields.Boolean(
        metadata={
            "description": "a regulator found it unfounded: it no longer counts for the merchant"
        }
    )
    ruled_at = fields.String(allow_none=True)


class ComplaintList(StrictSchema):
    items = fields.List(fields.Nested(Complaint), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ComplaintListQuery(PageQuery):
    pass


class ConsumerComplaint(Complaint):
    next_actions = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "what the consumer may do next: resolve, escalate"},
    )


class ConsumerComplaintList(StrictSchema):
    items = fields.List(fields.Nested(ConsumerComplaint), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class RatingRequest(StrictSchema):
    stars = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=MIN_STARS, max=MAX_STARS)
    )
    text = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT))


class RatingCreated(StrictSchema):
    rating_id = fields.String(required=True)
    redemption_id = fields.String(required=True)
    stars = fields.Integer(required=True)


class PublicRating(StrictSchema):
    rating_id = fields.String(required=True)
    stars = fields.Integer(required=True)
    text = fields.String(
        required=True, allow_none=True, metadata={"description": "null once erased"}
    )
    rated_at = fields.String(required=True)


class RatingSummary(StrictSchema):
    average_tenths = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "the mean in tenths of a star (43 is 4.3); null without ratings"},
    )
    count = fields.Integer(required=True)


class MerchantRatings(RatingSummary):
    items = fields.List(fields.Nested(PublicRating), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ComplaintResponse(StrictSchema):
    response = fields.String(required=True, validate=TEXT)


class ComplaintClosing(StrictSchema):
    outcome = fields.String(validate=validate.Length(min=1, max=500), load_default="accepted")


class UnfoundedFinding(StrictSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class ComplaintRuling(StrictSchema):
    complaint_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    status = fields.String(required=True)
    unfounded = fields.Boolean(required=True)
    ruled_by = fields.String(required=True)
    ruling_note = fields.String(required=True)
    ruled_at = fields.String(required=True)


class ComplaintState(StrictSchema):
    complaint_id = fields.String(required=True)
    status = fields.String(required=True)


class Reason(StrictSchema):
    indicator = fields.String(required=True)
    value = fields.Raw(allow_none=True)
    threshold = fields.String(required=True)


class Health(StrictSchema):
    code = fields.String(required=True, metadata={"description": "green|yellow|red"})
    since = fields.String(required=True)
    reasons = fields.List(fields.Nested(Reason), required=True)
    metrics = fields.Dict(
        required=True,
        metadata={
            "description": (
                "the indicators by name; money figures (issued_30, issued_90, redeemed_30, "
                "redeemed_90, outstanding, escrow_held, in fen) only for the merchant itself and "
                "regulators"
            )
        },
    )
    evaluated_at = fields.String(required=True)


class CreditReport(StrictSchema):
    report = fields.Dict(required=True)
    signature = fields.Dict(required=True)
