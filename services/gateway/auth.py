"""Bearer tokens: EdDSA (Ed25519) JWTs that carry a role and a subject.

The gateway signs tokens with its own Ed25519 key; in demo mode `POST /auth/dev-login` hands
them out for any role, in production it does not exist (404) and tokens come from the
production logins. For a merchant the subject is its merchant_id, for a consumer its
pseudonymous consumer id.
"""
from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app, g, request

from services.gateway.errors import ApiError

ROLES = ("consumer", "merchant", "regulator", "bank", "operator")
ISSUER = "prepaid-trust-gateway"


@dataclass(frozen=True)
class Principal:
    role: str
    subject: str


class TokenIssuer:
    VERIFIED_CACHE = 50_000

    def __init__(self, private_key: Ed25519PrivateKey, ttl_seconds: int = 12 * 3600):
        self._private = private_key
        self._public = private_key.public_key()
        self.ttl = ttl_seconds
        # A client sends the same token on every call: its signature is checked once, and the
        # result kept until the token expires (a dict is safe to share between threads here).
        self._verified: dict[str, tuple[Principal, int]] = {}

    @classmethod
    def from_key_file(cls, path: str | Path, *, create: bool) -> TokenIssuer:
        path = Path(path)
        if not path.exists():
            if not create:
                raise FileNotFoundError(f"gateway signing key {path} is missing")
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return cls(key)

    def issue(self, role: str, subject: str, *, ttl: int | None = None) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": subject, "role": role, "iat": now,
                  "exp": now + (ttl or self.ttl)}
        return jwt.encode(claims, self._private, algorithm="EdDSA")

    def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
        claims = jwt.decode(token, self._public, algorithms=["EdDSA"], issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub", "iss"]})
        if claims.get("role") not in ROLES:
            raise jwt.InvalidTokenError("unknown role")
        principal = Principal(claims["role"], claims["sub"])
        if len(self._verified) >= self.VERIFIED_CACHE:
            self._verified.clear()
        self._verified[token] = (principal, claims["exp"])
        return principal


def current_principal() -> Principal | None:
    """The caller, or None when no Authorization header was sent; 401 for a bad token."""
    if "principal" in g:
        return g.principal
    header = request.headers.get("Authorization", "")
    principal = None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "invalid_credentials", "expected 'Authorization: Bearer <token>'")
        try:
            principal = current_app.config["TOKENS"].verify(token.strip())
        except jwt.PyJWTError as exc:
            raise ApiError(401, "invalid_credentials", f"bad token: {exc}") from None
    g.principal = principal
    return principal


def require(*roles: str):
    """The endpoint needs a caller with one of `roles` (any role when none are named)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if principal is None:
                raise ApiError(401, "authentication_required", "this endpoint needs a token")
            if roles and principal.role not in roles:
                raise ApiError(403, "forbidden", f"role {principal.role!r} may not do this")
            return view(*args, **kwargs)

        wrapper.required_roles = roles
        return wrapper

    return decorator
