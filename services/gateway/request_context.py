"""What a view knows about the request beyond its body: who is calling, and the metadata every
event the request records carries (its correlation id and its actor).

The correlation id is the client's `X-Request-Id` when it is a valid token, else one the
gateway makes up; the response names it in `X-Request-Id`, so a client can quote it whichever
it was.
"""

from __future__ import annotations

from flask import Flask, Response, g, request

from messaging import correlation
from services.gateway.auth import Principal, current_principal
from services.gateway.errors import ApiError

HEADER = "X-Request-Id"


def correlation_id() -> str:
    """The one place a request's correlation id is decided (once per request)."""
    if "correlation_id" not in g:
        g.correlation_id = correlation.accept(request.headers.get(HEADER))
    return g.correlation_id


def caller() -> Principal | None:
    """The caller of a public route: None when no token was sent."""
    return current_principal()


def principal() -> Principal:
    """The caller of a route behind `@require`, which has already refused a request without
    a token; the 401 here only keeps a view without `@require` from reading None."""
    found = current_principal()
    if found is None:
        raise ApiError(401, "authentication_required", "this endpoint needs a token")
    return found


def actor() -> str:
    """Who the services record as having done it: `role:subject`."""
    who = principal()
    return f"{who.role}:{who.subject}"


def metadata() -> dict[str, str]:
    """What every event the request records carries."""
    return {"correlation_id": correlation_id(), "actor": actor()}


def register(app: Flask) -> None:
    @app.after_request
    def _echo_correlation_id(response: Response) -> Response:
        response.headers[HEADER] = correlation_id()
        return response
