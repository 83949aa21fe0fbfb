from marshmallow import fields

from services.gateway.schemas import StrictSchema


class Erased(StrictSchema):
    status = fields.String(required=True, metadata={"description": "erased"})
