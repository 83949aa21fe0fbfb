"""The regulators' alert queue: `GET /api/v1/alerts` a page of 100, deep in 100,000 open
alerts, beside the first page of 1,000.

The alerts (merchants across the industries, so across departments; yellow and red) are
opened through the risk service's application layer straight into the store the real risk
service then opens; the pages are asked of the real gateway app over RabbitMQ. The queue is a
keyset index, so page 500 should cost what page 1 does: target p99 < 50 ms, and the deep
page's p99 at most 1.5 times the shallow one's.
"""

from __future__ import annotations

import base64
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.latency import percentile, timed_gets
from devenv.rabbitmq import RabbitNode
from eventstore.sqlite import SqliteEventStore
from services.gateway.app import create_app
from services.gateway.paging import encode
from services.merchant.domain.model import INDUSTRIES
from services.risk.application import alerts
from services.risk.domain.alerts import tail
from services.risk.domain.departments import department_of_industry
from services.risk.domain.events import AlertOpened
from tests.support.gateway import auth, gateway_settings
from tests.support.harness import start_service, stop, wait_until

MANY, FEW = 100_000, 1_000
DEEP_PAGE, LIMIT = 500, 100
QUERIES = 300
TARGET_MS, TARGET_RATIO = 50, 1.5
T0 = datetime(2026, 9, 1, tzinfo=UTC)
REASONS = [{"indicator": "escrow_coverage_percent", "value": 40, "threshold": ">= 50"}]


def _seed(path: Path, count: int) -> None:
    store = SqliteEventStore(path, synchronous="OFF")
    try:
        for first in range(0, count, 5_000):
            with store.unit_of_work() as uow:
                for i in range(first, min(first + 5_000, count)):
                    industry = INDUSTRIES[i % len(INDUSTRIES)]
                    opened = AlertOpened(
                        f"al-{i:07d}",
                        f"m-{i:07d}",
                        "red" if i % 3 == 0 else "yellow",
                        REASONS,
                        (T0 + timedelta(seconds=i)).isoformat(),
                        None,
                    )
                    about = {
                        "merchant_name": f"商户{i}",
                        "industry": industry,
                        "department": department_of_industry(industry),
                    }
                    alerts.open_alert(uow, opened, about)
    finally:
        store.close()


def _p99(client, headers: dict, url: str) -> tuple[float, float]:
    def full_page(body: dict) -> None:
        assert len(body["items"]) == LIMIT

    # Warm: the store's pages in memory, the RPC connections made.
    timings = timed_gets(client, headers, url, QUERIES, warm=20, check=full_page)
    return percentile(timings, 0.99) * 1000, percentile(timings, 0.5) * 1000


def _deep_url(client, headers: dict, url: str, skip: int) -> str:
    """The URL of the page after the first `skip` alerts, with the cursor the gateway would
    have handed out there (its scope read from a cursor it did hand out)."""
    cursor = client.get(url, headers=headers).get_json()["next_cursor"]
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    scope = json.loads(raw)[0]
    opened_at = (T0 + timedelta(seconds=skip - 1)).isoformat()
    after = tail({"alert_id": f"al-{skip - 1:07d}", "opened_at": opened_at})
    return f"{url}&cursor={encode(scope, after)}"


def _measure(node: RabbitNode, count: int, deep: bool) -> tuple[float, float]:
    base = Path(tempfile.mkdtemp(prefix=f"bench-alerts-{count}-"))
    started = time.perf_counter()
    _seed(base / "risk.db", count)
    print(f"  ({count:,} open alerts seeded in {time.perf_counter() - started:.0f} s)")
    risk = start_service("risk", base, node.amqp_uri)
    app = create_app(gateway_settings(base, node.amqp_uri))
    client = app.test_client()
    try:
        regulator = auth(client, "regulator", "r")
        url = f"/api/v1/alerts?status=open&limit={LIMIT}"
        wait_until(
            lambda: client.get(url, headers=regulator).status_code == 200,
            timeout=120,
            what="the risk service",
        )
        if deep:
            url = _deep_url(client, regulator, url, LIMIT * (DEEP_PAGE - 1))
            first = client.get(url, headers=regulator).get_json()["items"][0]["alert_id"]
            assert first == f"al-{LIMIT * (DEEP_PAGE - 1):07d}", first
        return _p99(client, regulator, url)
    finally:
        app.config["RPC_POOL"].close()
        stop(risk)


def run(report) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    (base / "rabbit").mkdir()
    node = RabbitNode(base / "rabbit").start()
    try:
        shallow, shallow_p50 = _measure(node, FEW, deep=False)
        deep, deep_p50 = _measure(node, MANY, deep=True)
    finally:
        node.stop()
    report(f"GET /alerts page 1 of 100 at {FEW:,} alerts, p99", shallow, None, "ms")
    report("  the same, p50", shallow_p50, None, "ms")
    report(
        f"GET /alerts page {DEEP_PAGE} of 100 at {MANY:,} alerts, p99",
        deep,
        None,
        "ms",
        absolute_target=TARGET_MS,
        lower_is_better=True,
    )
    report("  the same, p50", deep_p50, None, "ms")
    ratio = deep / shallow
    ok = ratio <= TARGET_RATIO
    print(
        f"{'  deep page p99 / first page p99':<48} {ratio:>12.2f}   "
        f"[target <= {TARGET_RATIO}: {'ok' if ok else 'MISSED'}]",
        flush=True,
    )
    if not ok:
        report.failures.append("alerts deep page ratio")
