"""POST /auth/dev-login: demo-mode tokens for any role (404 in production mode)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from services.gateway.errors import ApiError
from services.gateway.idempotency import idempotent
from services.gateway.schemas.auth import DevLoginRequest, TokenResponse
from services.gateway.validation import json_body

blueprint = Blueprint("auth", __name__)

OPENAPI = {
    "/api/v1/auth/dev-login": {"post": {
        "summary": "Demo mode only: a token for any role and subject",
        "tags": ["auth"],
        "requestBody": {"content": {"application/json": {"schema": "DevLoginRequest"}}},
        "responses": {"200": {"description": "a bearer token",
                              "content": {"application/json": {"schema": "TokenResponse"}}},
                      "400": {"description": "invalid input"},
                      "404": {"description": "not in demo mode"}},
    }},
}
SCHEMAS = {"DevLoginRequest": DevLoginRequest, "TokenResponse": TokenResponse}


@blueprint.post("/api/v1/auth/dev-login")
@blueprint.post("/auth/dev-login")
@idempotent
def dev_login():
    if current_app.config["SETTINGS"].mode != "demo":
        raise ApiError(404, "not_found", "dev-login exists only in demo mode")
    body = json_body(DevLoginRequest())
    token = current_app.config["TOKENS"].issue(body["role"], body["subject"])
    return jsonify(TokenResponse().dump({"token": token, **body}))
