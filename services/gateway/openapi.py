"""GET /api/v1/openapi.json: the OpenAPI 3 document, built from each API area's module."""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify

blueprint = Blueprint("openapi", __name__)

ERRORS = {400: "invalid input", 401: "no or bad credentials",
          403: "the caller's role may not do this", 404: "unknown, or not the caller's",
          409: "state or version conflict", 422: "a business rule refused it",
          413: "the request body is larger than the route's limit",
          429: "too many attempts", 503: "a dependency is down"}
# Every failure has the contract's one shape (services/gateway/errors.py). Each operation's
# documented errors carry it, and so does its `default` response, which covers what any route
# may answer (a body that is not JSON, a method it does not serve, an unexpected failure).
ERROR_BODY = {"type": "object", "required": ["error"], "additionalProperties": False,
              "properties": {"error": {
                  "type": "object", "required": ["code", "message", "details"],
                  "additionalProperties": False,
                  "properties": {"code": {"type": "string", "pattern": "^[a-z0-9_]+$",
                                          "description": "snake_case, stable"},
                                 "message": {"type": "string"},
                                 "details": {"type": "object"}}}}}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def error_response(description: str) -> dict:
    return {"description": description, "content": ERROR_CONTENT}


def param(name: str, type_: str = "string", *, where: str = "query", required: bool = False,
          description: str | None = None) -> dict:
    return {"name": name, "in": where, "required": required, "schema": {"type": type_},
            **({"description": description} if description else {})}


def operation(summary: str, *, tag: str, schema: str | None = None, status: str = "200",
              errors: tuple[int, ...] = (), body: str | dict | None = None,
              body_optional: bool = False, params: tuple[dict, ...] = (),
              says: dict[int, str] | None = None, ok: str = "ok") -> dict:
    """One operation of an API area's document. `body` and `schema` name components (or give
    a schema); a `body_optional` may be left out; `says` words an error for this operation.
    The bearer security, `x-roles`, 401 and 403 come from the view's `@require`, and the path
    parameters from the path, when the document is built, so the document cannot drift from
    what the code checks."""
    words = {**ERRORS, **(says or {})}
    content = {"content": {"application/json": {"schema": schema}}} if schema else {}
    return {"summary": summary, "tags": [tag], **({"parameters": list(params)} if params else {}),
            **({"requestBody": {"required": not body_optional, "content": {"application/json": {
                "schema": body}}}} if body else {}),
            "responses": {status: {"description": ok, **content},
                          **{str(code): error_response(words[code]) for code in errors}}}


HEALTH = {"/healthz": {"get": {
    "summary": "200 when RabbitMQ and every service answer (status ok, or degraded naming a"
               " relay that is behind or has parked events), 503 naming what is down",
    "tags": ["operations"],
    "responses": {"200": {"description": "ok or degraded"},
                  "503": {"description": "unavailable"}},
}}}


def _views(app) -> dict:
    found = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods:
            found[(path, method.lower())] = app.view_functions[rule.endpoint]
    return found


def _completed(path: str, op: dict, view) -> dict:
    named = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
    in_path = [param(n, where="path", required=True) for n in re.findall(r"{(\w+)}", path)
               if n not in named]
    op = {**op, **({"parameters": in_path + op.get("parameters", [])} if in_path else {})}
    # 413 and 429 follow from the body and the view's @rate_limited, like 401/403 from @require.
    limits = {**({"413": error_response(ERRORS[413])} if "requestBody" in op else {}),
              **({"429": error_response(ERRORS[429])} if getattr(
                  view, "rate_limit_group", None) else {})}
    op = {**op, "responses": dict(sorted({
        **op["responses"], **limits,
        "default": error_response("any other error, in the same shape")}.items()))}
    roles = getattr(view, "required_roles", None)
    if roles is None:
        return op
    responses = {**op["responses"], "401": error_response(ERRORS[401]),
                 **({"403": error_response(ERRORS[403])} if roles else {})}
    return {**op, "security": [{"bearer": []}], **({"x-roles": list(roles)} if roles else {}),
            "responses": dict(sorted(responses.items()))}


def build_spec(areas, app) -> dict:
    spec = APISpec(title="Prepaid-consumption trust platform", version="1.0.0",
                   openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Money is integer fen; errors are "
                         "{error: {code, message, details}}; POSTs take Idempotency-Key."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT (EdDSA)"})
    spec.components.schema("Error", ERROR_BODY)
    for area in areas:
        for name, schema in getattr(area, "SCHEMAS", {}).items():
            spec.components.schema(name, schema=schema)
    views = _views(app)
    for area in areas:
        for path, operations in getattr(area, "OPENAPI", {}).items():
            spec.path(path=path, operations={
                method: _completed(path, op, views.get((path, method)))
                for method, op in operations.items()})
    for path, operations in HEALTH.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@blueprint.get("/api/v1/openapi.json")
def openapi_document():
    return jsonify(current_app.config["OPENAPI"])
