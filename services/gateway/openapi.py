"""GET /api/v1/openapi.json: the OpenAPI 3 document, built from the `@operation` on each
view (see `operation`), so a route and its documentation are written side by side."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify
from marshmallow import Schema

from services.gateway.auth import View

blueprint = Blueprint("openapi", __name__)

SchemaClass = type[Schema]
OPERATION = "openapi_operation"
"""The attribute `@operation` sets on a view."""

ERRORS = {
    400: "invalid input",
    401: "no or bad credentials",
    403: "the caller's role may not do this",
    404: "unknown, or not the caller's",
    409: "state or version conflict",
    422: "a business rule refused it",
    413: "the request body is larger than the route's limit",
    429: "too many attempts",
    503: "a dependency is down",
}
# Every failure has the contract's one shape (services/gateway/errors.py). Each operation's
# documented errors carry it, and so does its `default` response, which covers what any route
# may answer (a body that is not JSON, a method it does not serve, an unexpected failure).
ERROR_BODY = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "additionalProperties": False,
            "properties": {
                "code": {
                    "type": "string",
                    "pattern": "^[a-z0-9_]+$",
                    "description": "snake_case, stable",
                },
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def error_response(description: str) -> dict:
    return {"description": description, "content": ERROR_CONTENT}


def param(
    name: str,
    type_: str = "string",
    *,
    where: str = "query",
    required: bool = False,
    description: str | None = None,
) -> dict:
    return {
        "name": name,
        "in": where,
        "required": required,
        "schema": {"type": type_},
        **({"description": description} if description else {}),
    }


@dataclass(frozen=True)
class Operation:
    """What `@operation` records on a view; the document is built from these."""

    summary: str
    tag: str
    response: SchemaClass | None
    status: int
    errors: tuple[int, ...]
    body: SchemaClass | tuple[SchemaClass, ...] | None
    body_optional: bool
    params: tuple[dict, ...]
    says: dict[int, str]
    ok: str
    also: dict[int, tuple[str, SchemaClass | None]]
    contract_errors: bool
    undocumented_paths: tuple[str, ...]

    def schemas(self) -> list[SchemaClass]:
        bodies = self.body if isinstance(self.body, tuple) else (self.body,)
        return [
            s
            for s in (*bodies, self.response, *(s for _, s in self.also.values()))
            if s is not None
        ]

    def document(self) -> dict:
        """The operation object, before `_completed` adds what follows from the view."""
        words = {**ERRORS, **self.says}
        responses = {
            str(self.status): _response(self.ok, self.response),
            **{
                str(code): _response(description, schema)
                for code, (description, schema) in self.also.items()
            },
            **{str(code): error_response(words[code]) for code in self.errors},
        }
        body: dict | None = None
        if isinstance(self.body, tuple):
            body = {"oneOf": [_ref(s) for s in self.body]}
        elif self.body is not None:
            body = _ref(self.body)
        return {
            "summary": self.summary,
            "tags": [self.tag],
            **({"parameters": list(self.params)} if self.params else {}),
            **(
                {
                    "requestBody": {
                        "required": not self.body_optional,
                        "content": {"application/json": {"schema": body}},
                    }
                }
                if body
                else {}
            ),
            "responses": responses,
        }


def _ref(schema: SchemaClass) -> dict:
    """A schema is a component named after its class (build_spec registers it)."""
    return {"$ref": f"#/components/schemas/{schema.__name__}"}


def _response(description: str, schema: SchemaClass | None) -> dict:
    if schema is None:
        return {"description": description}
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def operation(
    summary: str,
    *,
    tag: str,
    response: SchemaClass | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    body: SchemaClass | tuple[SchemaClass, ...] | None = None,
    body_optional: bool = False,
    params: tuple[dict, ...] = (),
    says: dict[int, str] | None = None,
    ok: str = "ok",
    also: dict[int, tuple[str, SchemaClass | None]] | None = None,
    contract_errors: bool = True,
    undocumented_paths: tuple[str, ...] = (),
) -> Callable[[View], View]:
    """Documents the view it decorates (put it right under the route): `response` and `body`
    are schemas (a tuple of bodies is one of them), `errors` the statuses it may refuse with,
    `says` words an error for this operation, `also` adds other successful answers
    (status -> description, schema). The bearer security, `x-roles`, 401 and 403 come from the
    view's `@require`, 429 from its `@rate_limited`, 413 from its body, and the path
    parameters from the path, when the document is built, so the document cannot drift from
    what the code checks. A view answering its own body even when it fails
    (`contract_errors=False`) is documented exactly as given. `undocumented_paths` are other
    routes to the same view that the document leaves out."""
    recorded = Operation(
        summary,
        tag,
        response,
        status,
        errors,
        body,
        body_optional,
        params,
        says or {},
        ok,
        also or {},
        contract_errors,
        undocumented_paths,
    )

    def document(view: View) -> View:
        # functools.wraps copies a function's __dict__, so the mark survives the wrappers
        # (rate limits) that are put around the view after it is registered.
        vars(view)[OPERATION] = recorded
        return view

    return document


def _documented(app: Flask) -> dict[str, dict[str, tuple[Operation, Callable]]]:
    """path -> method -> (operation, view), for every route whose view has an operation."""
    found: dict[str, dict[str, tuple[Operation, Callable]]] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        recorded = getattr(view, OPERATION, None)
        if recorded is None or rule.rule in recorded.undocumented_paths:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods or ()):
            if method not in ("HEAD", "OPTIONS"):
                found.setdefault(path, {})[method.lower()] = (recorded, view)
    return found


def _completed(path: str, op: dict, view: Callable) -> dict:
    named = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
    in_path = [
        param(n, where="path", required=True)
        for n in re.findall(r"{(\w+)}", path)
        if n not in named
    ]
    op = {**op, **({"parameters": in_path + op.get("parameters", [])} if in_path else {})}
    # 413 and 429 follow from the body and the view's @rate_limited, like 401/403 from @require.
    limits = {
        **({"413": error_response(ERRORS[413])} if "requestBody" in op else {}),
        **({"429": error_response(ERRORS[429])} if getattr(view, "rate_limit_group", None) else {}),
    }
    op = {
        **op,
        "responses": dict(
            sorted(
                {
                    **op["responses"],
                    **limits,
                    "default": error_response("any other error, in the same shape"),
                }.items()
            )
        ),
    }
    roles = getattr(view, "required_roles", None)
    if roles is None:
        return op
    responses = {
        **op["responses"],
        "401": error_response(ERRORS[401]),
        **({"403": error_response(ERRORS[403])} if roles else {}),
    }
    return {
        **op,
        "security": [{"bearer": []}],
        **({"x-roles": list(roles)} if roles else {}),
        "responses": dict(sorted(responses.items())),
    }


def build_spec(app: Flask) -> dict:
    """The document of every route whose view carries an `@operation`."""
    spec = APISpec(
        title="Prepaid-consumption trust platform",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Money is integer fen; errors are "
            "{error: {code, message, details}}; POSTs take Idempotency-Key."
        },
    )
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"}
    )
    spec.components.schema("Error", ERROR_BODY)
    documented = _documented(app)
    for operations in documented.values():
        for recorded, _ in operations.values():
            for schema in recorded.schemas():
                # A schema nested in one registered earlier is already there, by its name.
                if schema.__name__ not in spec.components.schemas:
                    spec.components.schema(schema.__name__, schema=schema)
    for path, operations in documented.items():
        spec.path(
            path=path,
            operations={
                method: _completed(path, recorded.document(), view)
                if recorded.contract_errors
                else recorded.document()
                for method, (recorded, view) in operations.items()
            },
        )
    return spec.to_dict()


@blueprint.get("/api/v1/openapi.json")
def openapi_document():
    return jsonify(current_app.config["OPENAPI"])
