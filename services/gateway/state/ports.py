"""One small port per concern of the gateway's shared state. Each has one SQL adapter, run on
SQLite or PostgreSQL (services/gateway/state/db.py); tests/gateway/state_conformance.py holds
what every adapter must do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

IN_PROGRESS = -1
"""The status of an Idempotency-Key record whose request is still running."""


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status: int
    """IN_PROGRESS while the first request runs."""
    body: bytes


class IdempotencyRecords(Protocol):
    ttl: float
    stale_after: float

    def begin(self, scope: str, key: str, fingerprint: str) -> StoredResponse | None:
        """None: the key is now this request's (marked in progress); else the live record
        under it. An expired record counts as none, and so does an in-progress marker of the
        same request older than `stale_after` (its process died)."""

    def finish(self, scope: str, key: str, status: int, body: bytes) -> None:
        """Stores the response; a 5xx drops the record, so a retry runs afresh."""


class RevokedTokens(Protocol):
    def __contains__(self, jti: str) -> bool: ...

    def revoke(self, jti: str, expires_at: float) -> None:
        """Durable before it returns; kept until `expires_at`."""


@dataclass(frozen=True)
class RecentFailures:
    """Failed logins within the window, oldest first (times)."""

    pair: list[float]
    """This source on this username."""
    source: list[float]
    """This source, on any username."""
    username: list[float]
    """This username, from any source."""


class LoginFailures(Protocol):
    def attempt(
        self,
        source: str,
        username: str,
        now: float,
        window: float,
        check: Callable[[RecentFailures], None],
    ) -> None:
        """Calls `check` with the failures within `window` before `now`; unless it raises,
        counts this attempt as a failure, in one step with the check: no other attempt, on
        any replica, is checked in between."""

    def succeeded(self, source: str, username: str, at: float) -> None:
        """The username's failures are forgotten (from every source); the source keeps its
        failures except this attempt's."""


class UsedCodes(Protocol):
    def use_step(self, who: str, step: int) -> bool:
        """False when `who` already used this TOTP step or a later one."""

    def use_nonce(self, nonce: str, now: float, keep: float) -> bool:
        """False when `nonce` was used within `keep` seconds before `now`."""
