from marshmallow import fields, validate

from services.gateway.auth import ROLES
from services.gateway.schemas import StrictSchema


class DevLoginRequest(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=128))


class TokenResponse(StrictSchema):
    token = fields.String(required=True)
    role = fields.String(required=True)
    subject = fields.String(required=True)
