"""A witness's operations port, like every other process's (messaging/probes.py): `GET
/metrics`, `/livez`, `/readyz` on `--metrics-port` (or `METRICS_PORT`; 0: none), apart from
the port logs submit checkpoints to, so a Kubernetes probe or a Prometheus scrape never goes
through whatever fronts `/add-checkpoint` for the log.

Series:
* `prepaid_witness_requests_total{status}` and `prepaid_witness_request_seconds{status}`:
  every `POST /add-checkpoint` by its answer (200 cosigned; 409 inconsistent or stale; 403 bad
  log signature; 404 unknown log; 400 malformed; 503 busy);
* `prepaid_witness_cosigned_size{origin}`: the size of the latest checkpoint cosigned per log
  (read from the state when scraped), and `prepaid_witness_conflicts{origin}`: log-signed
  checkpoints refused as inconsistent, which an operator must look at.

`/livez` is answered by a thread of the process; `/readyz` also reads the state database
(a witness that cannot read it cannot cosign). Each scrape and probe reads the state on a
connection of its own, closed after it: the witness keeps one connection per thread that ever
used it, and the probe server starts a thread per request.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from flask import Flask, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from messaging import probes

REQUESTS = Counter(
    "prepaid_witness_requests",
    "add-checkpoint requests a witness answered, by HTTP status",
    ["status"],
)
REQUEST_SECONDS = Histogram(
    "prepaid_witness_request_seconds",
    "time a witness took to answer add-checkpoint, by HTTP status",
    ["status"],
)


def instrument(app: Flask) -> Flask:
    """Counts and times the app's `POST /add-checkpoint` answers."""

    @app.before_request
    def _start() -> None:
        g.witness_started = time.perf_counter()

    @app.after_request
    def _count(response):
        if request.path == "/add-checkpoint":
            status = str(response.status_code)
            REQUESTS.labels(status).inc()
            started = g.get("witness_started")
            if started is not None:
                REQUEST_SECONDS.labels(status).observe(time.perf_counter() - started)
        return response

    return app


def read_state(db_path: str | Path, origins: list[str]) -> dict[str, tuple[int, int]]:
    """(cosigned size, conflicts kept) per origin, read-only; sqlite3.Error when unreadable."""
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)) as conn:
        found = {}
        for origin in origins:
            row = conn.execute("SELECT size FROM latest WHERE origin = ?", (origin,)).fetchone()
            (conflicts,) = conn.execute(
                "SELECT count(*) FROM conflicts WHERE origin = ?", (origin,)
            ).fetchone()
            found[origin] = (row[0] if row else 0, conflicts)
        return found


class WitnessState(Collector):
    """The cosigned size and the conflicts kept, per log origin, read when scraped."""

    def __init__(self, db_path: str | Path, origins: list[str]) -> None:
        self.db_path, self.origins = db_path, origins

    def collect(self):
        size = GaugeMetricFamily(
            "prepaid_witness_cosigned_size",
            "size of the latest checkpoint the witness cosigned, per log",
            labels=["origin"],
        )
        conflicts = GaugeMetricFamily(
            "prepaid_witness_conflicts",
            "log-signed checkpoints the witness refused as inconsistent (evidence kept)",
            labels=["origin"],
        )
        try:
            state = read_state(self.db_path, self.origins)
        except sqlite3.Error:
            return  # /readyz says so; the other series are still scraped
        for origin, (cosigned, kept) in state.items():
            size.add_metric([origin], cosigned)
            conflicts.add_metric([origin], kept)
        yield size
        yield conflicts


def serve_operations(
    db_path: str | Path,
    origins: list[str],
    host: str,
    port: int,
    registry: CollectorRegistry = REGISTRY,
) -> WSGIServer:
    """Starts the operations port on a daemon thread; the caller shuts it down."""
    registry.register(WitnessState(db_path, origins))

    def not_ready() -> list[str]:
        try:
            read_state(db_path, origins)
        except sqlite3.Error as exc:
            return [f"state: {type(exc).__name__}"]
        return []

    return probes.serve_in_thread(host, port, probes.probe_app(lambda: [], not_ready, registry))
