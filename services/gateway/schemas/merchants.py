from marshmallow import fields, validate

from services.gateway.paging import PageQuery
from services.gateway.schemas import Instant, Money, StrictSchema
from services.gateway.schemas.inspections import Classification
from services.merchant.domain.model import FLAGS, INDUSTRIES, MAX_NAME_QUERY

NAME = validate.Length(min=1, max=200)
PHONE = validate.Regexp(r"^\+?[0-9]{6,20}$", error="a phone number is digits, optionally +")


class MerchantApplication(StrictSchema):
    name = fields.String(required=True, validate=NAME)
    uscc = fields.String(required=True, validate=validate.Length(equal=18))
    industry = fields.String(required=True, validate=validate.OneOf(INDUSTRIES))
    address = fields.String(required=True, validate=validate.Length(min=1, max=500))
    contact_phone = fields.String(required=True, validate=PHONE)
    licence_issued_on = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
        metadata={
            "description": "YYYY-MM-DD; a licence younger than the policy's "
            "merchants.min_licence_age_days may not sell cards. Optional: without it "
            "that rule is not applied"
        },
    )


class MerchantCreated(StrictSchema):
    merchant_id = fields.String(required=True)
    status = fields.String(required=True)


class Merchant(StrictSchema):
    merchant_id = fields.String(required=True)
    name = fields.String(required=True)
    uscc = fields.String(required=True)
    industry = fields.String(required=True)
    address = fields.String(required=True)
    contact_phone = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "masked unless you are the merchant"},
    )
    status = fields.String(required=True)
    status_reason = fields.String(required=True)
    flags = fields.List(fields.String(), required=True)
    licence_issued_on = fields.String(allow_none=True)
    health_code = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "green|yellow|red; null until assessed"},
    )
    public_warning = fields.String(allow_none=True, required=True)
    version = fields.Integer(required=True)


class MerchantRating(StrictSchema):
    average_tenths = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "the mean in tenths of a star (43 is 4.3); null without ratings"},
    )
    count = fields.Integer(required=True)


class MerchantCard(Merchant):
    """A merchant's own page: its card with its rating (null while ratings are unavailable)."""

    rating = fields.Nested(MerchantRating, allow_none=True, required=True)
    inspection = fields.Nested(
        Classification,
        allow_none=True,
        required=True,
        metadata={"description": "null while the inspection service does not know it"},
    )


class DirectoryQuery(PageQuery):
    industry = fields.String(validate=validate.OneOf(INDUSTRIES))
    health_code = fields.String(validate=validate.OneOf(("green", "yellow", "red")))
    q = fields.String(
        load_default="",
        validate=validate.Length(max=MAX_NAME_QUERY),
        metadata={
            "description": f"part of the name (at most {MAX_NAME_QUERY} characters); "
            "Latin letters match in any case"
        },
    )


class DirectoryEntry(Merchant):
    """A merchant as the public directory lists it: no contact phone, even masked."""

    class Meta:
        exclude = ("contact_phone",)


class Directory(StrictSchema):
    items = fields.List(fields.Nested(DirectoryEntry), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class _Product(StrictSchema):
    name = fields.String(required=True, validate=NAME)
    price = Money(required=True, validate=validate.Range(min=1))


class StoredValueProduct(_Product):
    type = fields.String(required=True, validate=validate.Equal("stored_value"))
    bonus = Money(load_default=0, validate=validate.Range(min=0))
    validity_days = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))


class CountProduct(_Product):
    type = fields.String(required=True, validate=validate.Equal("count"))
    uses = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    validity_days = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))


class PeriodProduct(_Product):
    type = fields.String(required=True, validate=validate.Equal("period"))
    period_days = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))


PRODUCT_SCHEMAS = {
    "stored_value": StoredValueProduct,
    "count": CountProduct,
    "period": PeriodProduct,
}


class Product(StrictSchema):
    product_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    type = fields.String(required=True)
    name = fields.String(required=True)
    price = Money(required=True)
    bonus = Money(required=True)
    uses = fields.Integer(required=True)
    validity_days = fields.Integer(required=True)
    period_days = fields.Integer(required=True)
    sector = fields.String(required=True)


class RunningPromotion(StrictSchema):
    promotion_id = fields.String(required=True)
    name = fields.String(required=True)
    bonus = Money(required=True)
    starts_at = fields.String(required=True)
    ends_at = fields.String(required=True)


class ProductOnSale(Product):
    """A product as a card bought now gets it."""

    bonus = Money(
        required=True,
        metadata={"description": "the bonus a card bought now carries (a running promotion's)"},
    )
    regular_bonus = Money(required=True, metadata={"description": "the product's own bonus"})
    promotion = fields.Nested(RunningPromotion, allow_none=True, required=True)
    retired_at = fields.String(allow_none=True, required=True)


class ProductList(StrictSchema):
    items = fields.List(fields.Nested(ProductOnSale), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ProductQuery(PageQuery):
    include_retired = fields.Boolean(load_default=False)


class ProductRetirement(StrictSchema):
    product_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "retired"})
    retired_at = fields.String(required=True)


class DefaultDeclaration(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class DefaultProposal(StrictSchema):
    merchant_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "default_proposed"})
    reason = fields.String(required=True)
    proposed_by = fields.String(required=True)
    proposed_at = fields.String(required=True)


class DefaultResult(StrictSchema):
    cards_refunded = fields.Integer(required=True)
    amount_refunded = Money(required=True)


class DefaultProgress(StrictSchema):
    merchant_id = fields.String(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(("none", "proposed", "refunding", "finished")),
        metadata={"description": "none|proposed|refunding|finished"},
    )
    cards_total = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "open cards when the refund began; null until it begins"},
    )
    cards_refunded = fields.Integer(required=True)
    amount_refunded = Money(required=True)


class Reinstatement(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class Reinstated(StrictSchema):
    merchant_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "active"})
    reinstated_at = fields.String(required=True)


class Settlement(StrictSchema):
    payout_id = fields.String(required=True)
    amount = Money(required=True)
    days = fields.List(fields.String(), required=True)
    paid_at = fields.String(required=True)


class SettlementList(StrictSchema):
    items = fields.List(fields.Nested(Settlement), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class FlagChange(StrictSchema):
    flag = fields.String(required=True, validate=validate.OneOf(FLAGS))
    on = fields.Boolean(required=True)
    source = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "where the listing was read"},
    )


class FlagResult(StrictSchema):
    merchant_id = fields.String(required=True)
    status = fields.String(required=True)
    flags = fields.List(fields.String(), required=True)


class PromotionRequest(StrictSchema):
    product_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name = fields.String(required=True, validate=NAME)
    bonus = Money(required=True, validate=validate.Range(min=0))
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)


class Promotion(StrictSchema):
    promotion_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    product_id = fields.String(required=True)
    name = fields.String(required=True)
    bonus = Money(required=True)
    starts_at = fields.String(required=True)
    ends_at = fields.String(required=True)


class PromotionList(StrictSchema):
    items = fields.List(fields.Nested(Promotion), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class PromotionQuery(PageQuery):
    include_ended = fields.Boolean(load_default=False)


class MerchantStats(StrictSchema):
    merchant_id = fields.String(required=True)
    currency = fields.String(required=True)
    cards_issued = fields.Integer(required=True)
    issuance_amount = Money(required=True, metadata={"description": "deposited, fen"})
    redemptions_confirmed = fields.Integer(required=True)
    redemption_amount = Money(
        required=True,
        metadata={"description": "released to the merchant by confirmed spends and elapsed days"},
    )
    upfront_paid = Money(
        required=True,
        metadata={"description": "paid at purchase when the escrow ratio is below 100%"},
    )
    cards_refunded = fields.Integer(required=True)
    refund_amount = Money(required=True)
    open_cards = fields.Integer(required=True)
    outstanding_balance = Money(
        required=True,
        metadata={
            "description": "what open cards have paid for and not yet received, at their price"
        },
    )
    escrow_held = Money(required=True)
    paid_out = Money(required=True, metadata={"description": "settled to the merchant"})
