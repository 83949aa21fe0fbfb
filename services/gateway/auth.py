"""Bearer tokens: EdDSA (Ed25519) JWTs that carry a role and a subject.

The gateway signs tokens with its own Ed25519 key; in demo mode `POST /auth/dev-login` hands
them out for any role, in production it does not exist (404) and tokens come from the
production logins. For a merchant the subject is its merchant_id, for a consumer its
pseudonymous consumer id.

Every token names its mode as its audience (`aud`), the key that signed it (`kid` header)
and its own id (`jti`), which logout revokes. A gateway accepts only its own mode's tokens,
signed by its own key, and not revoked; each mode has its own key (signing_key.py).
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app, g, request

from services.gateway import signing_key
from services.gateway.credentials import DEPARTMENT_ROLES
from services.gateway.errors import ApiError
from services.gateway.state.ports import RevokedTokens
from services.risk.domain.departments import DEPARTMENTS

ROLES = ("consumer", "merchant", "regulator", "bank", "operator", "inspector")
ISSUER = "prepaid-trust-gateway"


def audience(mode: str) -> str:
    return f"prepaid-trust/{mode}"


@dataclass(frozen=True)
class Principal:
    role: str
    subject: str
    token_id: str = ""
    expires_at: int = 0
    department: str = ""
    """A regulator's or an inspector's department (services/risk/domain/departments.py), from
    the `dept` claim; empty when the token names none."""


def check_department(role: str, department: str | None) -> None:
    """Only a regulator or an inspector belongs to a department, and only to a known one: 400
    invalid_department otherwise."""
    if not department:
        return
    if department not in DEPARTMENTS:
        raise ApiError(
            400,
            "invalid_department",
            f"department must be one of {', '.join(DEPARTMENTS)}",
        )
    if role not in DEPARTMENT_ROLES:
        raise ApiError(
            400, "invalid_department", "only a regulator or an inspector belongs to a department"
        )


class TokenIssuer:
    VERIFIED_CACHE = 50_000

    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        *,
        mode: str,
        ttl_seconds: int = 12 * 3600,
        revoked: RevokedTokens | None = None,
    ):
        self._private = private_key
        self._public = private_key.public_key()
        self.kid = signing_key.key_id(private_key)
        self.audience = audience(mode)
        self.ttl = ttl_seconds
        self.revoked = revoked
        # A client sends the same token on every call: its signature is checked once, and the
        # result kept until the token expires (a dict is safe to share between threads here).
        self._verified: dict[str, Principal] = {}

    @classmethod
    def from_key_file(
        cls,
        path: str | Path,
        *,
        mode: str,
        create: bool,
        ttl_seconds: int = 12 * 3600,
        revoked: RevokedTokens | None = None,
    ) -> TokenIssuer:
        if not Path(path).exists():
            if not create:
                raise FileNotFoundError(f"gateway signing key {path} is missing")
            signing_key.ensure(path, mode)  # another replica may have made it meanwhile
        return cls(
            signing_key.load(path, mode), mode=mode, ttl_seconds=ttl_seconds, revoked=revoked
        )

    def issue(
        self, role: str, subject: str, *, ttl: int | None = None, department: str = ""
    ) -> str:
        """A token; a regulator's or an inspector's may name its department (`dept`)."""
        check_department(role, department)
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": self.audience,
            "sub": subject,
            "role": role,
            "iat": now,
            "exp": now + (ttl or self.ttl),
            "jti": uuid.uuid4().hex,
        }
        if department:
            claims["dept"] = department
        return jwt.encode(claims, self._private, algorithm="EdDSA", headers={"kid": self.kid})

    def verify(self, token: str, *, allow_revoked: bool = False) -> Principal:
        principal = self._verified.get(token)
        if principal is None or principal.expires_at <= time.time():
            principal = self._decode(token)
        if not allow_revoked and self.revoked is not None and principal.token_id in self.revoked:
            raise jwt.InvalidTokenError("the token was revoked (logged out)")
        return principal

    def _decode(self, token: str) -> Principal:
        if jwt.get_unverified_header(token).get("kid") != self.kid:
            raise jwt.InvalidTokenError("not signed by this gateway's key")
        claims = jwt.decode(
            token,
            self._public,
            algorithms=["EdDSA"],
            issuer=ISSUER,
            audience=self.audience,
            options={"require": ["exp", "iat", "sub", "iss", "aud", "jti"]},
        )
        if claims.get("role") not in ROLES:
            raise jwt.InvalidTokenError("unknown role")
        department = claims.get("dept", "")
        if department and (department not in DEPARTMENTS or claims["role"] not in DEPARTMENT_ROLES):
            raise jwt.InvalidTokenError("unknown department")
        principal = Principal(
            claims["role"], claims["sub"], claims["jti"], claims["exp"], department
        )
        if len(self._verified) >= self.VERIFIED_CACHE:
            self._verified.clear()
        self._verified[token] = principal
        return principal

    def revoke(self, principal: Principal) -> None:
        if self.revoked is None:
            raise RuntimeError("this gateway keeps no revocation list")
        self.revoked.revoke(principal.token_id, principal.expires_at)


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


View = TypeVar("View", bound=Callable[..., Any])
"""A view function; the gateway's decorators (`@require`, `@idempotent`, `@rate_limited`,
`@operation`) hand back what they are given, typed alike."""


def require(*roles: str) -> Callable[[View], View]:
    """The endpoint needs a caller with one of `roles` (any role when none are named)."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None:
                raise ApiError(401, "authentication_required", "this endpoint needs a token")
            if roles and principal.role not in roles:
                raise ApiError(403, "forbidden", f"role {principal.role!r} may not do this")
            return view(*args, **kwargs)

        # Read by the OpenAPI document: the operation's security, x-roles, 401 and 403.
        vars(wrapper)["required_roles"] = roles
        return cast(View, wrapper)

    return decorator


def token_checked_inside(view: View) -> View:
    """The view checks the bearer token itself (logout accepts a revoked one): documented
    as needing a token, of any role."""
    vars(view)["required_roles"] = ()
    return view
