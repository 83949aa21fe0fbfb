"""Rate limits on what one caller can repeat cheaply and we pay for: logins, dev-login,
complaints and purchases (Flask-Limiter, fixed windows).

A view is marked with `@rate_limited(GROUP)`; `install` binds the marks to the app's own
Limiter, whose counters live in the storage `GatewaySettings.rate_limit_storage_uri()` names
(services/gateway/limit_storage.py), so replicas sharing that storage share the counts. The
limits themselves are settings (`GatewaySettings.*_rate_limit`, Flask-Limiter's notation,
for example "30 per minute;300 per hour").

A refusal is 429 with the contract's error body, code `rate_limited`, and `Retry-After`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from flask import Flask, current_app, request
from flask.typing import RouteCallable
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse_many

import services.gateway.limit_storage  # noqa: F401 (registers the sqlite and postgresql schemes)
from services.gateway.auth import View, current_principal
from services.gateway.errors import error_response
from services.gateway.settings import GatewaySettings

LOGINS, DEV_LOGIN, COMPLAINTS, PURCHASES = "logins", "dev_login", "complaints", "purchases"

log = logging.getLogger("gateway.rate_limits")
# Flask-Limiter logs each refusal with its key, a client's address or id: personal data,
# which stays out of the logs. The refusal is logged below without it.
logging.getLogger("flask-limiter").setLevel(logging.WARNING)


def _caller() -> str:
    """The authenticated caller; a request without a token counts against its address."""
    principal = current_principal()
    return f"{principal.role}:{principal.subject}" if principal else get_remote_address()


@dataclass(frozen=True)
class Rule:
    setting: str
    """The GatewaySettings field holding the limit."""
    key: Callable[[], str]
    """Whom a hit counts against."""


RULES = {
    # The three production logins share one budget per source address; the per-username
    # throttling of failures is LoginGuard's (services/gateway/logins_api.py).
    LOGINS: Rule("login_rate_limit", get_remote_address),
    DEV_LOGIN: Rule("dev_login_rate_limit", get_remote_address),
    COMPLAINTS: Rule("complaint_rate_limit", _caller),
    PURCHASES: Rule("purchase_rate_limit", _caller),
}


def rate_limited(group: str) -> Callable[[View], View]:
    """Marks a view as counted in `group` (one of RULES); `install` applies the limit."""
    if group not in RULES:
        raise ValueError(f"unknown rate-limit group {group!r}")

    def mark(view: View) -> View:
        vars(view)["rate_limit_group"] = group
        return view

    return mark


def install(app: Flask, settings: GatewaySettings) -> Limiter:
    """Call after every blueprint is registered: wraps each marked view of this app."""
    for group, rule in RULES.items():
        try:  # a typo in a limit stops the start, not every request it would apply to
            parse_many(getattr(settings, rule.setting))
        except ValueError as exc:
            raise ValueError(
                f"the {group} rate limit {getattr(settings, rule.setting)!r} is not valid: {exc}"
            ) from None
    # Behind proxies, create_app's ProxyFix (GATEWAY_PROXY_HOPS) has made the remote address
    # the client's own, so logins and dev-login are counted per client, not per proxy.
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.rate_limit_storage_uri(),
        strategy="fixed-window",
        headers_enabled=True,
        key_prefix="gateway",
        # While the shared storage is unreachable each process counts on its own rather than
        # refusing every login and purchase; it goes back to the storage once it answers.
        in_memory_fallback_enabled=True,
    )
    for endpoint, view in list(app.view_functions.items()):
        marked = getattr(view, "rate_limit_group", None)
        if marked:
            rule = RULES[marked]
            # Flask-Limiter types its decorator's result as possibly async; these views are not.
            app.view_functions[endpoint] = cast(
                RouteCallable,
                limiter.shared_limit(
                    getattr(settings, rule.setting), scope=marked, key_func=rule.key
                )(view),
            )
    app.register_error_handler(RateLimitExceeded, _refused)
    app.config["LIMITER"] = limiter
    return limiter


def _refused(exc: RateLimitExceeded):
    log.info("rate limit %s reached at %s", exc.limit.limit, request.endpoint)
    breached = current_app.config["LIMITER"].current_limit
    retry_after = max(1, math.ceil(breached.reset_at - time.time())) if breached else 1
    response, status = error_response(
        429,
        "rate_limited",
        "too many requests; retry after the given number of seconds",
        {"limit": str(exc.limit.limit), "retry_after_seconds": retry_after},
    )
    response.headers["Retry-After"] = str(retry_after)
    return response, status
