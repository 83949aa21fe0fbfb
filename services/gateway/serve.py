"""`python -m services.gateway.serve`: the gateway on waitress (the default) or granian
(`GATEWAY_SERVER=granian`), both production WSGI servers.

Waitress serves with a fixed number of threads, and the RPC pool has as many proxies, so a
request never waits for a proxy that another thread could not release.

Slow and idle clients: waitress reads requests asynchronously and hands a thread only a
complete request, so a client that sends slowly holds a connection, not a thread. Connections
are capped at `GATEWAY_CONNECTION_LIMIT` (polled, so past select()'s 1,024 descriptors), and
one silent for `GATEWAY_CHANNEL_TIMEOUT` seconds, idle or half-sent, is closed (checked every
`GATEWAY_CLEANUP_INTERVAL` seconds). No body larger than the largest route limit is read
(services/gateway/body_limits.py). A per-address connection cap belongs to the proxy in front.

`/metrics` is served on its own operations port, `METRICS_PORT` on `METRICS_HOST` (as every
nameko service and relay does, messaging/probes.py), never on the API port: a scrape reaches
the pod's port directly, and the Service and Ingress in front carry only the API port. Its
`/livez` and `/readyz` there say only that the process answers; the gateway's probes are the
API port's (services/gateway/health.py).

Granian (`GATEWAY_SERVER=granian`) parses HTTP in Rust and runs the app on `RPC_POOL_SIZE`
blocking threads of one worker process. `make bench` (suite `escrow`) measures the same
confirms through both; on this two-core machine granian did not beat waitress there (a
confirm's cost is its two fsynced writes, not HTTP parsing), so waitress stays the default.
What differs on granian: a slow client holds a connection, not a thread, as on waitress, but
the one timeout set is on reading headers (`GATEWAY_CHANNEL_TIMEOUT`, at most 60 s; not
tested here for idle keep-alive connections or slow bodies). There is no connection cap
(`GATEWAY_CONNECTION_LIMIT`): at most `RPC_POOL_SIZE` requests run at once, the rest wait
(granian's backpressure), so the cap belongs to the proxy in front. Flask refuses a body over
its route's limit from Content-Length before reading it, or while reading a chunked one;
granian has no limit of its own. Its own refusals (a malformed request) are its bare 400, not
the contract's error body. The worker builds the app (`granian_app`) and serves `/metrics`.
"""

from __future__ import annotations

import json
import os

import waitress
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

from messaging import logs, probes
from services.gateway import body_limits
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings


class ContractErrorTask(ErrorTask):
    """Waitress's own refusals (a body over the limit, a malformed request) in the contract's
    error body, like every other error of the gateway."""

    def execute(self):
        error = self.request.error
        code = "request_too_large" if error.code == 413 else error.reason.lower().replace(" ", "_")
        details = (
            {"limit_bytes": self.channel.adj.max_request_body_size} if error.code == 413 else {}
        )
        body = json.dumps(
            {"error": {"code": code, "message": str(error.body), "details": details}}
        ).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class ContractErrorChannel(HTTPChannel):
    error_task_class = ContractErrorTask


def make_server(app, settings: GatewaySettings):
    server = waitress.create_server(
        app,
        host=settings.host,
        port=settings.port,
        threads=settings.rpc_pool_size,
        ident="prepaid-gateway",
        connection_limit=settings.connection_limit,
        channel_timeout=settings.channel_timeout,
        cleanup_interval=settings.cleanup_interval,
        max_request_body_size=body_limits.largest_limit(app),
        asyncore_use_poll=True,
    )
    server.channel_class = ContractErrorChannel
    return server


def _serve_metrics(settings: GatewaySettings) -> None:
    if settings.metrics_port:
        probes.serve_in_thread(
            settings.metrics_host, settings.metrics_port, probes.probe_app(live=list, ready=list)
        )


def granian_app():
    """The app, built in granian's worker process (its factory), metrics port included."""
    logs.configure("gateway")
    settings = GatewaySettings.from_env()
    _serve_metrics(settings)
    return create_app(settings)


def serve_granian(settings: GatewaySettings) -> None:
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    # The worker reads its settings from the environment again; it must find this module
    # under the same name whatever the working directory.
    os.environ.setdefault("PYTHONPATH", os.getcwd())
    Server(
        f"{__name__ if __name__ != '__main__' else 'services.gateway.serve'}:granian_app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,
        factory=True,
        workers=1,
        blocking_threads=settings.rpc_pool_size,
        backpressure=settings.rpc_pool_size,
        http1_settings=HTTP1Settings(header_read_timeout=min(settings.channel_timeout, 60) * 1000),
        websockets=False,
        log_access=False,
    ).serve()


def main() -> None:
    logs.configure("gateway")
    settings = GatewaySettings.from_env()
    if settings.server == "granian":
        serve_granian(settings)
        return
    if settings.server != "waitress":
        raise SystemExit(f"GATEWAY_SERVER must be waitress or granian, not {settings.server!r}")
    app = create_app(settings)
    try:
        _serve_metrics(settings)
        server = make_server(app, settings)
        server.print_listen("Serving on http://{}:{}")
        server.run()
    finally:
        app.config["RPC_POOL"].close()


if __name__ == "__main__":
    main()
