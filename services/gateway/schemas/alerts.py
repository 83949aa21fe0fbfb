"""The regulators' alert queue: its filters, an alert with its SLA, and the steps' bodies."""

from marshmallow import fields, validate

from services.gateway.paging import PageQuery
from services.gateway.schemas import StrictSchema
from services.gateway.schemas.risk import TEXT, Reason
from services.merchant.domain.model import INDUSTRIES
from services.risk.domain.complaints import DISPOSITIONS

ASSIGNEE = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9:_.@-]{0,63}$",
    error="1 to 64 letters, digits or :_.@-",
)


class AlertQuery(PageQuery):
    status = fields.String(
        load_default="open",
        validate=validate.OneOf(("open", "acknowledged", "verified", "resolved", "any")),
        metadata={"description": "any: every status but resolved"},
    )
    code = fields.String(load_default=None, validate=validate.OneOf(("yellow", "red")))
    industry = fields.String(load_default=None, validate=validate.OneOf(INDUSTRIES))
    department = fields.String(load_default=None, validate=validate.Length(min=1, max=32))
    assignee = fields.String(load_default=None, validate=ASSIGNEE)
    opened_after = fields.DateTime(load_default=None)
    opened_before = fields.DateTime(load_default=None)


class AlertStep(StrictSchema):
    step = fields.String(required=True)
    by = fields.String(required=True)
    department = fields.String(metadata={"description": "the regulator's department"})
    at = fields.String(required=True)
    note = fields.String(required=True)
    evidence_sha256 = fields.String(allow_none=True)
    disposition = fields.String(allow_none=True)


class Assignment(StrictSchema):
    assignee = fields.String(required=True)
    by = fields.String(required=True)
    department = fields.String(required=True)
    at = fields.String(required=True)


class Alert(StrictSchema):
    alert_id = fields.String(required=True)
    merchant_id = fields.String(
        required=True, metadata={"description": "empty for a reconciliation difference"}
    )
    merchant_name = fields.String()
    industry = fields.String()
    department = fields.String(metadata={"description": "the sector department it is for"})
    code = fields.String(required=True)
    reasons = fields.List(fields.Nested(Reason), required=True)
    opened_at = fields.String(required=True)
    status = fields.String(required=True)
    improve_by = fields.String(allow_none=True)
    disposition = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    assignments = fields.List(fields.Nested(Assignment))
    steps = fields.List(fields.Nested(AlertStep), required=True)
    age_hours = fields.Integer()
    sla_hours = fields.Integer(metadata={"description": "policy [risk.alerts], by code"})
    due_at = fields.String()
    overdue = fields.Boolean()


class AlertList(StrictSchema):
    items = fields.List(fields.Nested(Alert), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class AlertAssignment(StrictSchema):
    assignee = fields.String(required=True, validate=ASSIGNEE)


class Verification(StrictSchema):
    note = fields.String(required=True, validate=TEXT)
    evidence_sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


class Resolution(StrictSchema):
    disposition = fields.String(required=True, validate=validate.OneOf(DISPOSITIONS))
    note = fields.String(load_default="", validate=validate.Length(max=4000))
