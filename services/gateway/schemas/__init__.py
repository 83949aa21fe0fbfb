"""Marshmallow schemas, one module per API area. Unknown fields are refused everywhere."""
from marshmallow import RAISE, Schema, ValidationError, fields


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class Money(fields.Integer):
    """Integer fen. `strict` refuses 10.0 and "10": money is never a float or a string."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)


__all__ = ["Money", "StrictSchema", "ValidationError"]
