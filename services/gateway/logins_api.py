"""The production logins. Each answers a bearer token like dev-login's, in any mode, once its
credentials are provisioned (see services/gateway/credentials.py); unprovisioned, it is 404.

A login changes no state, so a repeat simply gets a fresh token. They take no
Idempotency-Key replay: a stored response would be a live token kept at rest, and anonymous
callers share one key scope.
"""

from __future__ import annotations

import time

import requests
from flask import Blueprint, Response, current_app, jsonify, request

from services.gateway import credentials as creds
from services.gateway.errors import ApiError
from services.gateway.login_guard import SIGNATURE_WINDOW, LoginGuard
from services.gateway.openapi import operation, param
from services.gateway.rate_limits import LOGINS, rate_limited
from services.gateway.schemas.auth import (
    ConsumerLogin,
    DeviceTokenRequest,
    StaffLogin,
    TokenResponse,
)
from services.gateway.validation import json_body

blueprint = Blueprint("logins", __name__, url_prefix="/api/v1/auth")

__all__ = ["LoginGuard", "blueprint"]

DEVICE_TOKEN_TTL = 15 * 60


class WeChatCodeExchange:
    """jscode2session: the mini-program's one-time code for the user's openid."""

    def __init__(self, app_id: str, secret: str, endpoint: str, timeout: float = 5.0):
        self.app_id, self.secret, self.endpoint, self.timeout = app_id, secret, endpoint, timeout

    def openid(self, code: str) -> str | None:
        params = {
            "appid": self.app_id,
            "secret": self.secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        try:
            answer = requests.get(self.endpoint, params=params, timeout=self.timeout).json()
        except (requests.RequestException, ValueError):
            raise ApiError(
                503,
                "login_provider_unavailable",
                "the mini-program login could not be checked; retry",
            ) from None
        # WeChat answers an object: an openid, or a non-zero integer errcode. Anything else is
        # the provider's (or a proxy's) fault, not the caller's, and never ours to crash on.
        if not isinstance(answer, dict) or not isinstance(answer.get("errcode", 0), int):
            raise _bad_answer()
        if answer.get("errcode"):
            return None
        openid = answer.get("openid")
        if not isinstance(openid, str) or not openid:
            raise _bad_answer()
        return openid


def _bad_answer() -> ApiError:
    return ApiError(
        502,
        "login_provider_bad_answer",
        "the mini-program login provider answered something unexpected; retry",
    )


def _token(role: str, subject: str, ttl: int | None = None, department: str = "") -> Response:
    token = current_app.config["TOKENS"].issue(role, subject, ttl=ttl, department=department)
    answer = {"token": token, "role": role, "subject": subject}
    return jsonify(
        TokenResponse().dump({**answer, **({"department": department} if department else {})})
    )


LOGIN_ERRORS = (400, 401, 404, 429, 502, 503)
LOGIN_SAYS = {
    401: "invalid credentials",
    404: "not provisioned here",
    429: "too many failed attempts",
    502: "login provider answered nonsense",
    503: "login provider down",
}
"""Every login may refuse alike, and is documented alike."""


def _invalid() -> ApiError:
    return ApiError(401, "invalid_credentials", "those credentials are not valid")


@blueprint.post("/staff/login")
@operation(
    "Staff: password and TOTP code",
    tag="auth",
    response=TokenResponse,
    body=StaffLogin,
    errors=LOGIN_ERRORS,
    says=LOGIN_SAYS,
    ok="a bearer token",
)
@rate_limited(LOGINS)
def staff_login() -> Response:
    registry: creds.Credentials = current_app.config["CREDENTIALS"]
    if not registry.staff:
        raise ApiError(404, "not_found", "staff logins are not provisioned here")
    body, now, guard = json_body(StaffLogin()), time.time(), current_app.config["LOGIN_GUARD"]
    attempt = guard.begin(request.remote_addr or "unknown", body["username"], now)
    staff = registry.staff.get(body["username"])
    # The password is hashed even for an unknown user, so timing does not tell who exists.
    stored = staff.password if staff else creds.hash_password("", salt=b"0" * 16)
    password_ok = creds.password_matches(body["password"], stored)
    step = creds.totp_step_matching(staff.totp_secret, body["totp"], now) if staff else None
    if staff is None or not password_ok or step is None or not guard.use_step(staff.username, step):
        raise _invalid()  # already counted by `begin`
    guard.succeeded(attempt)
    ttl = current_app.config["SETTINGS"].staff_token_ttl
    return _token(staff.role, staff.subject, ttl, staff.department)


@blueprint.post("/device/token")
@operation(
    "POS terminals and the bank: a body signed with the device's Ed25519 key",
    tag="auth",
    response=TokenResponse,
    body=DeviceTokenRequest,
    params=(
        param(
            "X-Signature",
            where="header",
            required=True,
            description="base64 Ed25519 signature of the raw request body",
        ),
    ),
    errors=LOGIN_ERRORS,
    says=LOGIN_SAYS,
    ok="a bearer token",
)
@rate_limited(LOGINS)
def device_token() -> Response:
    """The body is signed as sent: `X-Signature` is Ed25519 over the raw body bytes."""
    registry: creds.Credentials = current_app.config["CREDENTIALS"]
    if not registry.devices:
        raise ApiError(404, "not_found", "device logins are not provisioned here")
    raw = request.get_data()
    body, now = json_body(DeviceTokenRequest()), time.time()
    device = registry.devices.get(body["key_id"])
    signature = request.headers.get("X-Signature", "")
    if device is None or not creds.signature_valid(device.public_key, raw, signature):
        raise _invalid()
    if abs(now - body["timestamp"]) > SIGNATURE_WINDOW:
        raise ApiError(
            401,
            "stale_signature",
            "the signed timestamp is too far from now",
            {"window_seconds": SIGNATURE_WINDOW},
        )
    if not current_app.config["LOGIN_GUARD"].use_nonce(device.key_id, body["nonce"], now):
        raise ApiError(401, "replayed_signature", "that signed request was already used")
    return _token(device.role, device.subject, DEVICE_TOKEN_TTL)


@blueprint.post("/consumer/login")
@operation(
    "Consumers: the mini-program's login code",
    tag="auth",
    response=TokenResponse,
    body=ConsumerLogin,
    errors=LOGIN_ERRORS,
    says=LOGIN_SAYS,
    ok="a bearer token",
)
@rate_limited(LOGINS)
def consumer_login() -> Response:
    registry: creds.Credentials = current_app.config["CREDENTIALS"]
    exchange = current_app.config.get("CODE_EXCHANGE")
    if exchange is None:
        raise ApiError(404, "not_found", "mini-program logins are not provisioned here")
    openid = exchange.openid(json_body(ConsumerLogin())["code"])
    if not openid:
        raise ApiError(401, "invalid_code", "the login code is not valid or was used")
    return _token("consumer", creds.consumer_subject(registry.consumer_pepper, openid))
