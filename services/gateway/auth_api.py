"""POST /auth/dev-login: demo-mode tokens for any role (404 in production mode), and
POST /api/v1/auth/logout: the presented token is revoked.

Like the production logins, dev-login takes no Idempotency-Key replay: a stored response
would be a live token kept at rest, and a repeat is harmless (a fresh token).
"""

from __future__ import annotations

import jwt
from flask import Blueprint, current_app, jsonify, request
from marshmallow import fields

from services.gateway.auth import token_checked_inside
from services.gateway.errors import ApiError
from services.gateway.openapi import operation
from services.gateway.rate_limits import DEV_LOGIN, rate_limited
from services.gateway.schemas import StrictSchema
from services.gateway.schemas.auth import DevLoginRequest, TokenResponse
from services.gateway.validation import json_body

blueprint = Blueprint("auth", __name__)


class LoggedOut(StrictSchema):
    revoked = fields.Boolean(required=True)
    expires_at = fields.Integer(
        required=True, metadata={"description": "Unix seconds: the token would have expired then"}
    )


@blueprint.post("/api/v1/auth/dev-login")
@blueprint.post("/auth/dev-login")
@operation(
    "Demo mode only: a token for any role and subject (a regulator's with its department)",
    tag="auth",
    response=TokenResponse,
    body=DevLoginRequest,
    errors=(400, 404),
    ok="a bearer token",
    says={404: "not in demo mode"},
    # The path before /api/v1, kept for the demo's scripts; documented once.
    undocumented_paths=("/auth/dev-login",),
)
@rate_limited(DEV_LOGIN)
def dev_login():
    if current_app.config["SETTINGS"].mode != "demo":
        raise ApiError(404, "not_found", "dev-login exists only in demo mode")
    body = json_body(DevLoginRequest())
    token = current_app.config["TOKENS"].issue(
        body["role"], body["subject"], department=body["department"]
    )
    if not body["department"]:
        del body["department"]
    return jsonify(TokenResponse().dump({"token": token, **body}))


@blueprint.post("/api/v1/auth/logout")
@operation(
    "Revoke the presented token; a repeat with the same token answers the same",
    tag="auth",
    response=LoggedOut,
    ok="revoked",
)
@token_checked_inside
def logout():
    """Idempotent: a revoked token may log out again (and gets the same answer), which no
    other endpoint accepts it for."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "authentication_required", "this endpoint needs a token")
    tokens = current_app.config["TOKENS"]
    try:
        principal = tokens.verify(token.strip(), allow_revoked=True)
    except jwt.PyJWTError as exc:
        raise ApiError(401, "invalid_credentials", f"bad token: {exc}") from None
    tokens.revoke(principal)
    return jsonify(LoggedOut().dump({"revoked": True, "expires_at": principal.expires_at}))
