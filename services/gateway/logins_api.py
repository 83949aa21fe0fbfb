"""The production logins. Each answers a bearer token like dev-login's, in any mode, once its
credentials are provisioned (see services/gateway/credentials.py); unprovisioned, it is 404.

A login changes no state, so a repeat simply gets a fresh token. They take no
Idempotency-Key replay: a stored response would be a live token kept at rest, and anonymous
callers share one key scope.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

import requests
from flask import Blueprint, Response, current_app, jsonify, request

from services.gateway import credentials as creds
from services.gateway.errors import ApiError
from services.gateway.openapi import operation, param
from services.gateway.rate_limits import LOGINS, rate_limited
from services.gateway.schemas.auth import (
    ConsumerLogin,
    DeviceTokenRequest,
    StaffLogin,
    TokenResponse,
)
from services.gateway.settings import LoginLimits
from services.gateway.validation import json_body

blueprint = Blueprint("logins", __name__, url_prefix="/api/v1/auth")

SIGNATURE_WINDOW = 300
DEVICE_TOKEN_TTL = 15 * 60


def _too_many(retry_after: float, why: str) -> ApiError:
    return ApiError(
        429,
        "too_many_attempts",
        "too many failed logins; wait",
        {"retry_after_seconds": max(1, math.ceil(retry_after)), "reason": why},
    )


@dataclass(frozen=True)
class Attempt:
    source: str
    username: str
    at: float


class LoginGuard:
    """Per gateway process: failed-login throttling, TOTP codes used once, device nonces used
    once within the signature window. Replicas each keep their own (see README).

    Every attempt is counted as a failure when it is let through, under the same lock as the
    check (`begin`), and uncounted only when it succeeds: parallel guesses cannot all pass
    the check before any of them is counted.

    A source that fails is locked: `max_failures` on one username, or `source_max_failures`
    on any, within the window. A username failed from anywhere is only slowed down, by an
    exponential backoff capped at `backoff_cap` seconds, so nobody can lock its owner out."""

    def __init__(self, limits: LoginLimits | None = None) -> None:
        self.limits = limits or LoginLimits()
        self._lock = threading.Lock()
        self._by_pair: dict[tuple[str, str], deque] = defaultdict(deque)
        self._by_source: dict[str, deque] = defaultdict(deque)
        self._by_username: dict[str, deque] = defaultdict(deque)
        self._last_step: dict[str, int] = {}
        self._nonces: dict[str, float] = {}
        self._swept = 0.0

    def _sweep(self, now: float) -> None:
        """Once a window, forget every failure older than it, whoever's: sources and names
        seen once do not stay in memory."""
        if now - self._swept < self.limits.window:
            return
        self._swept = now
        for table in (self._by_pair, self._by_source, self._by_username):
            for key in list(table):
                self._recent(table, key, now)

    def _recent(self, table: dict, key, now: float) -> deque:
        failures = table[key]
        while failures and failures[0] <= now - self.limits.window:
            failures.popleft()
        if not failures:
            del table[key]
            return deque()
        return failures

    def begin(self, source: str, username: str, now: float) -> Attempt:
        """Lets one attempt through and counts it as failed, or raises 429."""
        limits = self.limits
        with self._lock:
            self._sweep(now)
            for failures, limit, why in (
                (
                    self._recent(self._by_pair, (source, username), now),
                    limits.max_failures,
                    "source_and_username_locked",
                ),
                (
                    self._recent(self._by_source, source, now),
                    limits.source_max_failures,
                    "source_locked",
                ),
            ):
                if len(failures) >= limit:
                    raise _too_many(failures[-limit] + limits.window - now, why)
            anyone = self._recent(self._by_username, username, now)
            beyond = len(anyone) - limits.max_failures
            if beyond >= 0:
                wait = min(limits.backoff_base * 2**beyond, limits.backoff_cap)
                if now < anyone[-1] + wait:
                    raise _too_many(anyone[-1] + wait - now, "username_backoff")
            self._by_pair[(source, username)].append(now)
            self._by_source[source].append(now)
            self._by_username[username].append(now)
            return Attempt(source, username, now)

    def succeeded(self, attempt: Attempt) -> None:
        """The right password and TOTP: the username's slate is clean again; the source's
        failures on other usernames still count against it."""
        with self._lock:
            self._by_pair.pop((attempt.source, attempt.username), None)
            self._by_username.pop(attempt.username, None)
            source = self._by_source.get(attempt.source)
            if source is not None and attempt.at in source:
                source.remove(attempt.at)

    def use_step(self, who: str, step: int) -> bool:
        with self._lock:
            if step <= self._last_step.get(who, -1):
                return False
            self._last_step[who] = step
            return True

    def use_nonce(self, key_id: str, nonce: str, now: float) -> bool:
        with self._lock:
            for seen, at in list(self._nonces.items()):
                if at < now - 2 * SIGNATURE_WINDOW:
                    del self._nonces[seen]
            if f"{key_id}/{nonce}" in self._nonces:
                return False
            self._nonces[f"{key_id}/{nonce}"] = now
            return True


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
