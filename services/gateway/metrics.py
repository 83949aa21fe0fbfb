"""The gateway's Prometheus series and its request log, filled by hooks around every request.

* `prepaid_http_requests_total` and `prepaid_http_request_seconds`, by `endpoint` (the Flask
  URL rule, `/api/v1/cards/<card_id>`, never the path itself, so a label has as many values
  as there are routes; `unmatched` for a path no route serves), `method` (one of `METHODS`,
  `other` for any other word a client sends) and `status`;
* `prepaid_gateway_rpc_seconds` by `service`, `method` (the typed clients' names) and
  `outcome` (ok, refused: the service answered with an error, unavailable: it did not answer).

Each request sets the correlation id its log lines and RPC calls carry (messaging/logs.py)
from `X-Request-Id` (request_context.py), and ends with one log line naming the route, never
the path: a path can hold a person's data (a phone number in a query).
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request
from prometheus_client import Counter, Histogram

from messaging import logs
from services.gateway.request_context import correlation_id

log = logging.getLogger("gateway.access")

REQUESTS = Counter("prepaid_http_requests", "requests answered", ["endpoint", "method", "status"])
REQUEST_SECONDS = Histogram(
    "prepaid_http_request_seconds",
    "time from the request's arrival in Flask to its answer",
    ["endpoint", "method", "status"],
)
RPC_SECONDS = Histogram(
    "prepaid_gateway_rpc_seconds",
    "time of an RPC call from the gateway, by outcome",
    ["service", "method", "outcome"],
)
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
"""The `method` label's values besides `other`: a client chooses the method's word, and each
new word would be a new series."""
QUIET_ENDPOINTS = frozenset({"/metrics", "/livez", "/readyz"})
"""Probes and scrapes: counted, but not logged (one line each few seconds says nothing)."""


def endpoint() -> str:
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def method_label() -> str:
    return request.method if request.method in METHODS else "other"


def install(app: Flask) -> None:
    """Registers the hooks; call before any other `before_request` (body limits, rate limits)
    so a request they refuse is timed too."""

    @app.before_request
    def _start() -> None:
        g.metrics_started = time.perf_counter()
        g.correlation_token = logs.CORRELATION_ID.set(correlation_id())

    @app.after_request
    def _record(response: Response) -> Response:
        route, status, method = endpoint(), str(response.status_code), method_label()
        REQUESTS.labels(route, method, status).inc()
        started = g.get("metrics_started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        REQUEST_SECONDS.labels(route, method, status).observe(seconds)
        if route not in QUIET_ENDPOINTS:
            log.info("%s %s %s in %.1f ms", method, route, status, seconds * 1000)
        return response

    @app.teardown_request
    def _forget(_exc) -> None:
        token = g.pop("correlation_token", None)
        if token is not None:
            logs.CORRELATION_ID.reset(token)
