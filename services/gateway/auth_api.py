"""POST /auth/dev-login: demo-mode tokens for any role (404 in production mode).

Like the production logins it takes no Idempotency-Key replay: a stored response would be a
live token kept at rest, and a repeat is harmless (a fresh token).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from services.gateway.errors import ApiError
from services.gateway.openapi import operation
from services.gateway.rate_limits import DEV_LOGIN, rate_limited
from services.gateway.schemas.auth import DevLoginRequest, TokenResponse
from services.gateway.validation import json_body

blueprint = Blueprint("auth", __name__)

OPENAPI = {"/api/v1/auth/dev-login": {"post": operation(
    "Demo mode only: a token for any role and subject", tag="auth", schema="TokenResponse",
    body="DevLoginRequest", errors=(400, 404), ok="a bearer token",
    says={404: "not in demo mode"})}}
SCHEMAS = {"DevLoginRequest": DevLoginRequest, "TokenResponse": TokenResponse}


@blueprint.post("/api/v1/auth/dev-login")
@blueprint.post("/auth/dev-login")
@rate_limited(DEV_LOGIN)
def dev_login():
    if current_app.config["SETTINGS"].mode != "demo":
        raise ApiError(404, "not_found", "dev-login exists only in demo mode")
    body = json_body(DevLoginRequest())
    token = current_app.config["TOKENS"].issue(body["role"], body["subject"])
    return jsonify(TokenResponse().dump({"token": token, **body}))
