"""Request body limits, enforced before a body is read.

Every route takes at most `GatewaySettings.max_json_body` bytes (64 KB by default); a route
that needs more (evidence files, one day) says so with `@body_limit(lambda s: s.<setting>)`.
A larger body is 413 `request_too_large` with the limit in the details:

* by Flask, from Content-Length, before anything is read, or while reading a body sent
  without Content-Length (chunked);
* by waitress (services/gateway/serve.py) for anything above the largest route limit: it
  stops reading there, so no body larger than some route accepts is ever buffered.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from services.gateway.errors import error_response
from services.gateway.settings import GatewaySettings

LimitOf = Callable[[GatewaySettings], int]


def body_limit(limit_of: LimitOf):
    """Lets a view take bodies up to `limit_of(settings)` bytes instead of the default."""

    def mark(view):
        view.body_limit_of = limit_of
        return view

    return mark


def _limit_for(app: Flask, endpoint: str | None) -> int:
    settings: GatewaySettings = app.config["SETTINGS"]
    limit_of = getattr(app.view_functions.get(endpoint or ""), "body_limit_of", None)
    return limit_of(settings) if limit_of else settings.max_json_body


def largest_limit(app: Flask) -> int:
    """What the server in front must accept: the largest limit of any route."""
    return max(
        [_limit_for(app, endpoint) for endpoint in app.view_functions]
        + [app.config["SETTINGS"].max_json_body]
    )


def too_large(limit: int):
    return error_response(
        413,
        "request_too_large",
        f"the request body is larger than {limit} bytes",
        {"limit_bytes": limit},
    )


def install(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = app.config["SETTINGS"].max_json_body

    @app.before_request
    def _limit_body():
        limit = _limit_for(current_app, request.endpoint)
        request.max_content_length = limit
        if request.content_length is not None and request.content_length > limit:
            return too_large(limit)
        return None

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc):
        return too_large(request.max_content_length or app.config["MAX_CONTENT_LENGTH"])
