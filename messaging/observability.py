"""What a nameko service shows its operators: JSON logs with each worker's correlation id, the
time and outcome of every RPC and event handler, and an operations port (messaging/probes.py).

`ObservabilityDependency` is a nameko DependencyProvider that wraps nothing: nameko calls its
`worker_setup` before and its `worker_result` after every entrypoint of the service, where it
times the worker and sets the correlation id its log lines carry:

* an RPC's id comes in the caller's context data (`correlation_id`, a nameko header the
  gateway sets and every `RpcProxy` passes on);
* an event handler's from the same header the relay sets, else from the event's metadata.

Series (labels bounded: the service's own entrypoint names, outcome ok | refused | error):
`prepaid_rpc_handler_seconds{service,method,outcome}` and
`prepaid_event_handler_seconds{service,handler,outcome}`. `figures` adds a service's own
series read when scraped (the escrow's money by state).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from kombu import Connection
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer
from nameko.rpc import Rpc
from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from messaging import correlation, logs, probes

log = logging.getLogger("nameko.worker")

RPC_SECONDS = Histogram(
    "prepaid_rpc_handler_seconds",
    "time a service spent in an RPC method",
    ["service", "method", "outcome"],
)
EVENT_SECONDS = Histogram(
    "prepaid_event_handler_seconds",
    "time a service spent handling an event (a redelivery counts again)",
    ["service", "handler", "outcome"],
)

QUIET_METHODS = frozenset({"health"})
"""Asked by every /healthz and /readyz of every gateway: timed, logged only at DEBUG."""

MESSAGE_HANDLERS = (EventHandler, Consumer)
"""Entrypoints that handle an event from a queue (the ledger's notary consumes one directly)."""

Figures = Callable[[Any], Iterable[GaugeMetricFamily]]
"""A service's own series, read from its store when scraped."""


def worker_correlation_id(worker_ctx) -> str | None:
    """The worker's id, or None. Total: an event's body is whatever a publisher sent (a
    string, a list, metadata that is no mapping), and this runs in `worker_setup`, where an
    exception would kill the container (and redelivery the next one)."""
    try:
        data = worker_ctx.data
        found = data.get("correlation_id") if isinstance(data, dict) else None
        if not correlation.is_valid(found) and isinstance(worker_ctx.entrypoint, MESSAGE_HANDLERS):
            payload = worker_ctx.args[0] if worker_ctx.args else None
            metadata = payload.get("metadata") if isinstance(payload, dict) else None
            found = metadata.get("correlation_id") if isinstance(metadata, dict) else None
        return found if correlation.is_valid(found) else None
    except Exception:  # noqa: BLE001 - never fail a worker over its log context
        return None


def outcome(exc_info, expected: tuple[type[BaseException], ...]) -> str:
    if exc_info is None:
        return "ok"
    return "refused" if isinstance(exc_info[1], expected) else "error"


class _ServiceFigures(Collector):
    def __init__(self, figures: Figures, store: Callable[[], Any]) -> None:
        self.figures, self.store = figures, store

    def collect(self):
        try:
            yield from self.figures(self.store())
        except Exception as exc:  # noqa: BLE001 - a scrape reports what it can
            log.warning("metrics: cannot read the figures: %s", type(exc).__name__)


class ObservabilityDependency(DependencyProvider):
    """Config: `METRICS_PORT` (0 or absent: no operations port), `METRICS_HOST`."""

    def __init__(self, figures: Figures | None = None, store_attr: str = "store") -> None:
        self.figures = figures
        self.store_attr = store_attr
        self._started: dict[int, tuple[float, Any]] = {}

    def setup(self) -> None:
        if (self.container.config.get("LOGGING") or {}).get("formatters"):
            logs.add_context(self.container.service_name)  # the operator chose a format
        else:
            logs.configure(self.container.service_name)
        logging.getLogger("nameko").setLevel(logging.INFO)

    def start(self) -> None:
        port = int(self.container.config.get("METRICS_PORT") or 0)
        if not port:
            return
        if self.figures is not None:
            REGISTRY.register(_ServiceFigures(self.figures, self._store))
        import eventlet
        from eventlet import wsgi

        host = self.container.config.get("METRICS_HOST", "127.0.0.1")
        listener = eventlet.listen((host, port))
        app = probes.probe_app(lambda: [], self._not_ready)
        quiet = logging.getLogger("nameko.probes")
        quiet.setLevel(logging.WARNING)
        self.container.spawn_managed_thread(
            lambda: wsgi.server(listener, app, log=quiet, log_output=False),
            identifier="operations port",
        )
        log.info("metrics and probes on http://%s:%s/metrics", host, port)

    def _store(self):
        for provider in self.container.dependencies:
            if provider.attr_name == self.store_attr:
                return provider.get_dependency(None)
        raise LookupError(self.store_attr)

    def _not_ready(self) -> list[str]:
        problems = []
        try:
            with Connection(self.container.config["AMQP_URI"], connect_timeout=3) as conn:
                conn.ensure_connection(max_retries=1)
        except Exception as exc:  # noqa: BLE001 - reported
            problems.append(f"RabbitMQ: {type(exc).__name__}")
        if any(p.attr_name == self.store_attr for p in self.container.dependencies):
            try:
                self._store().head_position()
            except Exception as exc:  # noqa: BLE001 - reported
                problems.append(f"store: {type(exc).__name__}")
        return problems

    def worker_setup(self, worker_ctx) -> None:
        try:
            token = logs.CORRELATION_ID.set(worker_correlation_id(worker_ctx))
            self._started[id(worker_ctx)] = (time.perf_counter(), token)
        except Exception:  # noqa: BLE001 - the handler runs untimed rather than not at all
            log.warning("observability: cannot set up a worker", exc_info=True)

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        started = self._started.get(id(worker_ctx))
        if started is None:
            return
        seconds = time.perf_counter() - started[0]
        entrypoint = worker_ctx.entrypoint
        name = entrypoint.method_name
        how = outcome(exc_info, tuple(getattr(entrypoint, "expected_exceptions", ()) or ()))
        service = self.container.service_name
        if isinstance(entrypoint, MESSAGE_HANDLERS):
            EVENT_SECONDS.labels(service, name, how).observe(seconds)
            kind, level = "event", logging.INFO
        elif isinstance(entrypoint, Rpc):
            RPC_SECONDS.labels(service, name, how).observe(seconds)
            quiet = name in QUIET_METHODS and how == "ok"
            kind, level = "rpc", logging.DEBUG if quiet else logging.INFO
        else:  # a timer's tick: not worth a line each time it finds nothing to do
            kind, level = "timer", logging.DEBUG if how == "ok" else logging.WARNING
        log.log(level, "%s %s.%s %s in %.1f ms", kind, service, name, how, seconds * 1000)

    def worker_teardown(self, worker_ctx) -> None:
        started = self._started.pop(id(worker_ctx), None)
        if started is not None:
            try:
                logs.CORRELATION_ID.reset(started[1])
            except ValueError:  # set in another context: nothing to undo here
                logs.CORRELATION_ID.set(None)
