"""The request's correlation id: the client's `X-Request-Id` when it is a valid token, else
one the gateway makes up; every event the request records carries it, and the response
names it in `X-Request-Id`, so a client can quote it whichever it was."""
from __future__ import annotations

from flask import Flask, g, request

from messaging import correlation

HEADER = "X-Request-Id"


def correlation_id() -> str:
    """The one place a request's correlation id is decided (once per request)."""
    if "correlation_id" not in g:
        g.correlation_id = correlation.accept(request.headers.get(HEADER))
    return g.correlation_id


def register(app: Flask) -> None:
    @app.after_request
    def _echo_correlation_id(response):
        response.headers[HEADER] = correlation_id()
        return response
