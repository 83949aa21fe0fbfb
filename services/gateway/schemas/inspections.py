"""Inspections (issue 14): plans and their draw, the inspectors' roster, the white list, the
merchant's code, visits and data checks, results, rectifications, the published results and
the figures; and the evidence store's answer."""

from marshmallow import ValidationError, fields, validate, validates_schema

from services.gateway.paging import PageQuery
from services.gateway.schemas import StrictSchema
from services.inspection.domain.classification import FINDINGS
from services.risk.domain.departments import DEPARTMENTS

ID = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9:_.@-]{0,63}$", error="1 to 64 letters, digits or :_.@-"
)
NOTE = validate.Length(max=500)
MAX_MERCHANT_CODE = 512
"""Far above the signed token the service issues; longer is not one of its codes."""
MAX_CONFLICTS = 500
SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="64 lowercase hex digits")


# --- requests ----------------------------------------------------------------------------


class PlanRequest(StrictSchema):
    department = fields.String(
        load_default="",
        validate=validate.Length(max=32),
        metadata={
            "description": f"one of {', '.join(DEPARTMENTS)}; by default the regulator's own "
            "(400 invalid_department)"
        },
    )
    period = fields.String(
        required=True,
        validate=validate.Length(max=16),
        metadata={"description": "YYYY or YYYYQn, e.g. 2026Q1 (400 invalid_period)"},
    )
    kind = fields.String(
        load_default="routine",
        validate=validate.Length(max=16),
        metadata={"description": "routine (default) or special (400 invalid_kind)"},
    )
    reason = fields.String(
        load_default="",
        validate=validate.Length(max=500),
        metadata={
            "description": "why (a complaint, a campaign): required for a special plan "
            "(400 reason_required), which visits beyond the quotas and the white list"
        },
    )


class InspectorEnrolment(StrictSchema):
    inspector_id = fields.String(
        required=True, validate=ID, metadata={"description": "the inspector's login subject"}
    )
    department = fields.String(
        required=True,
        validate=validate.Length(max=32),
        metadata={"description": "400 invalid_department"},
    )
    conflicts = fields.List(
        fields.String(validate=ID),
        load_default=list,
        validate=validate.Length(max=MAX_CONFLICTS),
        metadata={"description": "merchants the inspector must never be drawn for"},
    )


class WhiteListChange(StrictSchema):
    white_listed = fields.Boolean(required=True, truthy={True}, falsy={False})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class CheckIn(StrictSchema):
    merchant_code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_MERCHANT_CODE),
        metadata={"description": "the code the merchant's console shows (text or QR)"},
    )


class ResultRequest(StrictSchema):
    finding = fields.String(required=True, validate=validate.OneOf(FINDINGS))
    note = fields.String(load_default="", validate=NOTE)
    rectification_days = fields.Integer(
        load_default=None,
        strict=True,
        validate=validate.Range(min=1, max=90),
        metadata={"description": "1 to 90; required for a minor finding, only for it"},
    )

    @validates_schema
    def _days_only_for_minor(self, data, **_kwargs):
        if data["finding"] == "minor" and data["rectification_days"] is None:
            raise ValidationError("a minor finding needs a deadline", "rectification_days")
        if data["finding"] != "minor" and data["rectification_days"] is not None:
            raise ValidationError("only a minor finding has a deadline", "rectification_days")


class RectificationRequest(StrictSchema):
    evidence_sha256 = fields.String(
        required=True,
        validate=SHA256,
        metadata={"description": "an evidence file uploaded first (PUT /evidence/{sha256})"},
    )
    note = fields.String(load_default="", validate=NOTE)


class PlanQuery(PageQuery):
    department = fields.String(load_default=None, validate=validate.OneOf(tuple(DEPARTMENTS)))


class InspectorQuery(StrictSchema):
    department = fields.String(required=True, validate=validate.OneOf(tuple(DEPARTMENTS)))


class InspectionQuery(PageQuery):
    mine = fields.Boolean(load_default=False, metadata={"description": "an inspector's own"})
    merchant_id = fields.String(load_default=None, validate=ID)
    plan_id = fields.String(load_default=None, validate=ID)


class PublicQuery(PageQuery):
    merchant_id = fields.String(required=True, validate=ID)


class StatsQuery(StrictSchema):
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))


# --- answers -----------------------------------------------------------------------------


class Classification(StrictSchema):
    """A merchant's inspection tier (双随机 sampling and yearly quota); `reasons` only for
    regulators and the merchant itself."""

    risk_class = fields.String(required=True, metadata={"description": "I or II"})
    credit_grade = fields.String(required=True, metadata={"description": "A to D"})
    tier = fields.String(required=True, metadata={"description": "A to D"})
    white_listed = fields.Boolean(required=True)
    quota_year = fields.Integer(required=True, metadata={"description": "visits a year at most"})
    visits_this_year = fields.Integer(required=True)
    reasons = fields.List(fields.Dict())
    as_of = fields.String()


class WhiteListed(StrictSchema):
    merchant_id = fields.String(required=True)
    white_listed = fields.Boolean(required=True)
    reason = fields.String()
    by = fields.String()
    at = fields.String()


class Inspector(StrictSchema):
    inspector_id = fields.String(required=True)
    department = fields.String(required=True)
    conflicts = fields.List(fields.String())
    blocked = fields.Boolean()
    by = fields.String()
    at = fields.String()


class InspectorList(StrictSchema):
    items = fields.List(fields.Nested(Inspector), required=True)


class Drawn(StrictSchema):
    inspection_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    mode = fields.String(required=True, metadata={"description": "visit or data"})
    inspectors = fields.List(fields.String(), required=True)


class Plan(StrictSchema):
    plan_id = fields.String(required=True)
    status = fields.String(required=True)
    department = fields.String()
    period = fields.String()
    kind = fields.String()
    reason = fields.String(load_default="", metadata={"description": "why a special plan"})
    seed_commitment = fields.String(metadata={"description": "hex SHA-256 of the seed"})
    eligible_hash = fields.String(metadata={"description": "hex SHA-256 of `eligible`"})
    ledger_event_id = fields.String(metadata={"description": "the commitment's ledger entry"})
    seed = fields.String(allow_none=True, metadata={"description": "published at the draw"})
    merchants = fields.Integer(metadata={"description": "how many were eligible"})
    inspectors = fields.Integer(metadata={"description": "how many were on the roster"})
    by = fields.String()
    at = fields.String()
    drawn_at = fields.String(allow_none=True)
    inspections = fields.List(fields.Nested(Drawn), metadata={"description": "once drawn"})
    unstaffed = fields.List(fields.Raw())


class PlanList(StrictSchema):
    items = fields.List(fields.Nested(Plan), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class Draw(StrictSchema):
    plan_id = fields.String(required=True)
    seed = fields.String(required=True, metadata={"description": "32 bytes, lowercase hex"})
    eligible = fields.Dict(
        required=True,
        metadata={
            "description": "every input of the draw besides the seed and the policy: "
            "`python -m services.inspection.draw --seed SEED --eligible FILE` re-runs it"
        },
    )
    inspections = fields.List(fields.Nested(Drawn), required=True)
    unstaffed = fields.List(fields.Raw(), load_default=list)


class Inspection(StrictSchema):
    inspection_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    plan_id = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    period = fields.String(allow_none=True)
    tier = fields.String(allow_none=True, metadata={"description": "the merchant's, when drawn"})
    mode = fields.String(required=True, metadata={"description": "visit or data"})
    inspectors = fields.List(fields.String())
    status = fields.String(required=True)
    reason = fields.String(allow_none=True, metadata={"description": "data_check_failed: raised"})
    created_at = fields.String()
    check_ins = fields.List(fields.Dict())
    result = fields.Dict(allow_none=True)
    data_check = fields.Dict(allow_none=True)
    rectification = fields.Dict(allow_none=True)
    published = fields.Dict(allow_none=True)
    joint_with = fields.List(fields.String(), metadata={"description": "综合查一次: merged visits"})


class InspectionList(StrictSchema):
    items = fields.List(fields.Nested(Inspection), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class MerchantCode(StrictSchema):
    merchant_code = fields.String(required=True)
    expires_at = fields.String(required=True)


class CheckedIn(StrictSchema):
    inspection_id = fields.String(required=True)
    checked_in_at = fields.String(required=True)
    over_quota = fields.Boolean(required=True)
    warning = fields.String(metadata={"description": "over_quota: the merchant's quota is used"})


class PublishedResult(StrictSchema):
    """一公开: what the public sees of a result; no inspector's id."""

    inspection_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    department = fields.String()
    mode = fields.String()
    finding = fields.String()
    status = fields.String(
        required=True,
        metadata={
            "description": "closed, rectified, rectification_ordered, rectification_overdue, "
            "referred; visit_raised: a failed data check (its visit publishes its own)"
        },
    )
    at = fields.String()


class PublishedList(StrictSchema):
    items = fields.List(fields.Nested(PublishedResult), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class InspectionStats(StrictSchema):
    year = fields.Integer()
    by_tier = fields.Dict(required=True)
    share_without_visit_bp = fields.Integer(
        metadata={"description": "data checks / (visits + data checks), in basis points"}
    )
    visits = fields.Integer()
    data_checks = fields.Integer()
    overdue_rectifications = fields.Integer()


class EvidenceStored(StrictSchema):
    sha256 = fields.String(required=True)
    created = fields.Boolean(required=True, metadata={"description": "false: already stored"})
