"""The operations port of a process without a web server of its own (a nameko service, a
relay): `GET /metrics` (Prometheus text), `/livez` and `/readyz`.

* `/livez`: 200 while the process's loop runs (the answer itself comes from that loop, or from
  a thread beside it that checks it); a 503 asks the orchestrator to restart the process.
* `/readyz`: 200 when the process can do its work (broker connected, store opens); else 503
  naming what is not ready, and traffic (or, for a worker, attention) goes elsewhere.

The port comes from config `METRICS_PORT` (0 or absent: no port), on `METRICS_HOST`
(127.0.0.1 unless a deployment says 0.0.0.0).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

Check = Callable[[], list[str]]
"""A probe's check: what is wrong (empty when all is well)."""


def probe_app(
    live: Check, ready: Check, registry: CollectorRegistry = REGISTRY
) -> Callable[..., list[bytes]]:
    """The WSGI application answering the three paths."""

    def app(environ, start_response) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body = generate_latest(registry)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [body]
        if path in ("/livez", "/readyz"):
            try:
                problems = (live if path == "/livez" else ready)()
            except Exception as exc:  # noqa: BLE001 - a probe reports, it does not raise
                problems = [f"check failed: {type(exc).__name__}"]
            body = json.dumps(
                {"status": "ok" if not problems else "failing", "problems": problems}
            ).encode()
            status = "200 OK" if not problems else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve_in_thread(host: str, port: int, app) -> WSGIServer:
    """Serves `app` on a daemon thread (for a process whose main thread runs its own loop)."""
    server = make_server(host, port, app, _ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="probes", daemon=True).start()
    log.info("metrics and probes on http://%s:%s/metrics", host, server.server_port)
    return server
