"""The rules on failed staff logins, used TOTP steps and device nonces, over the gateway's
shared state (services/gateway/state/): every replica on the same state sees the same
failures, steps and nonces.

Every attempt is counted as a failure when it is let through, in the same step as the check
(`begin`), and uncounted only when it succeeds: parallel guesses, through any replicas, cannot
all pass the check before any of them is counted.

A source that fails is locked: `max_failures` on one username, or `source_max_failures` on
any, within the window. A username failed from anywhere is only slowed down, by an exponential
backoff capped at `backoff_cap` seconds, so nobody can lock its owner out."""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.gateway.errors import ApiError
from services.gateway.settings import LoginLimits
from services.gateway.state.ports import LoginFailures, RecentFailures, UsedCodes

SIGNATURE_WINDOW = 300


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
    def __init__(
        self, failures: LoginFailures, codes: UsedCodes, limits: LoginLimits | None = None
    ):
        self.failures, self.codes = failures, codes
        self.limits = limits or LoginLimits()

    def _check(self, now: float, recent: RecentFailures) -> None:
        limits = self.limits
        for failures, limit, why in (
            (recent.pair, limits.max_failures, "source_and_username_locked"),
            (recent.source, limits.source_max_failures, "source_locked"),
        ):
            if len(failures) >= limit:
                raise _too_many(failures[-limit] + limits.window - now, why)
        beyond = len(recent.username) - limits.max_failures
        if beyond >= 0:
            wait = min(limits.backoff_base * 2**beyond, limits.backoff_cap)
            if now < recent.username[-1] + wait:
                raise _too_many(recent.username[-1] + wait - now, "username_backoff")

    def begin(self, source: str, username: str, now: float) -> Attempt:
        """Lets one attempt through and counts it as failed, or raises 429."""
        self.failures.attempt(
            source, username, now, self.limits.window, lambda recent: self._check(now, recent)
        )
        return Attempt(source, username, now)

    def succeeded(self, attempt: Attempt) -> None:
        """The right password and TOTP: the username's slate is clean again; the source's
        failures on other usernames still count against it."""
        self.failures.succeeded(attempt.source, attempt.username, attempt.at)

    def use_step(self, who: str, step: int) -> bool:
        return self.codes.use_step(who, step)

    def use_nonce(self, key_id: str, nonce: str, now: float) -> bool:
        return self.codes.use_nonce(f"{key_id}/{nonce}", now, 2 * SIGNATURE_WINDOW)
