"""Loading request input through a schema: a 400 with the field errors, or clean data."""

from __future__ import annotations

from flask import request
from flask.json.provider import DefaultJSONProvider
from marshmallow import Schema, ValidationError

from services.gateway.errors import ApiError


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")


class StrictJSONProvider(DefaultJSONProvider):
    """Request bodies are RFC 8259 JSON: no NaN or Infinity, and nesting that Python's parser
    can take. A body nested deeper than its recursion limit is the client's error, a 400,
    wherever the body is read (anonymous routes included), not a RecursionError."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, parse_constant=_not_json, **kwargs)
        except RecursionError:
            raise ApiError(400, "invalid_json", "the JSON is nested too deeply") from None


def _load(schema: Schema, data):
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ApiError(
            400, "invalid_input", "the request is not valid", {"fields": exc.normalized_messages()}
        ) from None


def json_body(schema: Schema) -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return _load(schema, data)


def query(schema: Schema) -> dict:
    return _load(schema, request.args.to_dict())
