from marshmallow import fields, validate

from services.gateway.auth import ROLES
from services.gateway.schemas import StrictSchema


class DevLoginRequest(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=128))
    department = fields.String(
        load_default="",
        validate=validate.Length(max=32),
        metadata={
            "description": "a regulator's or inspector's department: samr, commerce, "
            "education, sports, association (400 invalid_department for another, or for "
            "another role)"
        },
    )


class TokenResponse(StrictSchema):
    token = fields.String(required=True)
    role = fields.String(required=True)
    subject = fields.String(required=True)
    department = fields.String(
        metadata={"description": "a regulator's or inspector's department, if any"}
    )


class StaffLogin(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=128))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    totp = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{6}$"))


class DeviceTokenRequest(StrictSchema):
    key_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    timestamp = fields.Integer(
        required=True, strict=True, metadata={"description": "Unix seconds when signed"}
    )
    nonce = fields.String(required=True, validate=validate.Length(min=16, max=128))


class ConsumerLogin(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=256))
