"""GET /api/v1/openapi.json: the OpenAPI 3 document, built from each API area's module."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify

blueprint = Blueprint("openapi", __name__)

HEALTH = {"/healthz": {"get": {
    "summary": "200 when RabbitMQ and every service answer, 503 naming what is down",
    "tags": ["operations"],
    "responses": {"200": {"description": "healthy"}, "503": {"description": "degraded"}},
}}}


def build_spec(areas) -> dict:
    spec = APISpec(title="Prepaid-consumption trust platform", version="1.0.0",
                   openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Money is integer fen; errors are "
                         "{error: {code, message, details}}; POSTs take Idempotency-Key."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT (EdDSA)"})
    for area in areas:
        for name, schema in getattr(area, "SCHEMAS", {}).items():
            spec.components.schema(name, schema=schema)
    for area in areas:
        for path, operations in getattr(area, "OPENAPI", {}).items():
            spec.path(path=path, operations=operations)
    for path, operations in HEALTH.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@blueprint.get("/api/v1/openapi.json")
def openapi_document():
    return jsonify(current_app.config["OPENAPI"])
