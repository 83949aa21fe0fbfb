"""The regulator's city figures and the public 红黑榜 (the risk service's views)."""

from marshmallow import ValidationError, fields, validate, validates_schema

from services.gateway.paging import PageQuery
from services.gateway.schemas import StrictSchema
from services.risk.domain.departments import DEPARTMENTS

MONEY = "fen"


class CityQuery(StrictSchema):
    by = fields.String(load_default="industry", validate=validate.OneOf(("industry", "day")))
    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)

    @validates_schema
    def _range_for_days(self, data, **_):
        if data["by"] == "day" and (data["from_"] is None or data["to"] is None):
            raise ValidationError("by=day needs from and to (YYYY-MM-DD)", "from")


class ByCode(StrictSchema):
    green = fields.Integer(required=True)
    yellow = fields.Integer(required=True)
    red = fields.Integer(required=True)


class CityRow(StrictSchema):
    merchants = fields.Integer(required=True)
    by_code = fields.Nested(ByCode, required=True)
    cards_issued = fields.Integer(required=True)
    outstanding_liability = fields.Integer(required=True, metadata={"description": MONEY})
    escrow_held = fields.Integer(required=True, metadata={"description": MONEY})
    refunds = fields.Integer(required=True, metadata={"description": "money refunded, fen"})
    complaints = fields.Integer(
        required=True, metadata={"description": "filed, less those ruled unfounded"}
    )
    escrow_coverage_bp = fields.Integer(
        allow_none=True,
        required=True,
        metadata={
            "description": "escrow_held / outstanding_liability in basis points; null "
            "when nothing is owed"
        },
    )


class CityItem(CityRow):
    key = fields.String(
        required=True, metadata={"description": "the industry, or the day (YYYY-MM-DD)"}
    )


class CityStats(StrictSchema):
    by = fields.String(required=True)
    items = fields.List(fields.Nested(CityItem), required=True)
    total = fields.Nested(CityRow, required=True)


DEPARTMENT = validate.OneOf(tuple(DEPARTMENTS))
DEPARTMENT_KEYS = "|".join(DEPARTMENTS)


class ListQuery(PageQuery):
    list = fields.String(load_default=None, validate=validate.OneOf(("red", "black")))
    department = fields.String(load_default=None, validate=DEPARTMENT)


class ListEntry(StrictSchema):
    merchant_id = fields.String(required=True)
    name = fields.String(required=True)
    since = fields.String(required=True)
    reason = fields.String(required=True, metadata={"description": "in words a citizen reads"})
    reason_code = fields.String(
        required=True,
        metadata={
            "description": "red_code|delisted (red list), defaulted|dishonest_debtor (black)"
        },
    )
    industry = fields.String(required=True)
    department = fields.String(required=True, metadata={"description": DEPARTMENT_KEYS})


class ListCursors(StrictSchema):
    red = fields.String(allow_none=True, required=True)
    black = fields.String(allow_none=True, required=True)


class RedBlackLists(StrictSchema):
    red = fields.List(fields.Nested(ListEntry), required=True)
    black = fields.List(fields.Nested(ListEntry), required=True)
    next_cursor = fields.Nested(ListCursors, required=True)


class HistoryQuery(StrictSchema):
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)


class CodeChange(StrictSchema):
    at = fields.String(required=True)
    code = fields.String(required=True)
    previous = fields.String(required=True, metadata={"description": "unassessed at first"})
    reasons = fields.List(fields.Dict(), required=True)


class Threshold(StrictSchema):
    higher_is_better = fields.Boolean(required=True)
    green = fields.Integer(allow_none=True, required=True)
    red = fields.Integer(allow_none=True, required=True)


class HealthHistory(StrictSchema):
    merchant_id = fields.String(required=True)
    from_ = fields.String(data_key="from", required=True)
    to = fields.String(required=True)
    days = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "one row a day from the first evaluation on: {date, code, and "
            "every indicator by name}; a day without an evaluation repeats the one before"
        },
    )
    changes = fields.List(fields.Nested(CodeChange), required=True)
    thresholds = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(Threshold),
        required=True,
        metadata={"description": "indicator -> the policy's green and red limits"},
    )


class WatchQuery(PageQuery):
    code = fields.String(load_default=None, validate=validate.OneOf(("yellow", "red")))
    department = fields.String(load_default=None, validate=DEPARTMENT)


class WatchReason(StrictSchema):
    indicator = fields.String(required=True)
    value = fields.Raw(required=True, allow_none=True)
    threshold = fields.String(required=True, allow_none=True)


class WatchEntry(StrictSchema):
    merchant_id = fields.String(required=True)
    name = fields.String(required=True)
    industry = fields.String(required=True)
    department = fields.String(required=True, metadata={"description": DEPARTMENT_KEYS})
    code = fields.String(required=True, metadata={"description": "yellow|red"})
    since = fields.String(required=True)
    reasons = fields.List(fields.Nested(WatchReason), required=True)


class WatchList(StrictSchema):
    items = fields.List(fields.Nested(WatchEntry), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
