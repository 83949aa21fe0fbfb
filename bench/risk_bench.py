"""Risk: how fast a complaint surge shows up as a red alert, and a full re-evaluation.

* complaint -> red code -> alert visible through the API: from the start of the complaint that
  completes a surge until the regulator's alert list shows the red alert (real merchant,
  escrow and risk services, the gateway's API). The five complainants hold a card each at the
  merchant, as only customers' complaints count;
* recomputing the codes of 10,000 merchants, as the scheduled work does.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.latency import percentile
from devenv.rabbitmq import RabbitNode
from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.gateway.app import create_app
from services.risk.application import commands
from services.risk.domain.health_code import RiskRules
from tests.support.gateway import auth, gateway_settings
from tests.support.harness import start_relay, start_service, stop, store_url, wait_until
from tests.support.merchants import fresh_uscc

SURGES = 100
MERCHANTS = 10_000
RULES = RiskRules.from_policy(dict(load_policy().risk))


def _bought(answer) -> str:
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["card_id"]


def _surge_latencies(base: Path, uri: str) -> list[float]:
    processes = [start_service(name, base, uri) for name in ("merchant", "escrow", "risk")]
    processes.append(start_relay("escrow", store_url(base, "escrow"), uri, base))
    # Five consumers buy a hundred cards and file a hundred complaints each, far above a
    # consumer's rate limits.
    app = create_app(
        gateway_settings(
            base,
            uri,
            complaint_rate_limit="1000000 per minute",
            purchase_rate_limit="1000000 per minute",
        )
    )
    client = app.test_client()
    try:
        operator, regulator = auth(client, "operator", "o"), auth(client, "regulator", "r")
        wait_until(
            lambda: (
                client.get("/api/v1/alerts", headers=regulator).status_code == 200
                and client.get("/api/v1/merchants").status_code == 200
            ),
            timeout=90,
            what="the merchant, escrow and risk services",
        )
        consumers = [auth(client, "consumer", f"c-{i}") for i in range(5)]
        latencies = []
        for _ in range(SURGES):
            merchant = client.post(
                "/api/v1/merchants",
                headers=operator,
                json={
                    "name": "Shop",
                    "uscc": fresh_uscc(),
                    "industry": "beauty",
                    "address": "1 Road",
                    "contact_phone": "13800000000",
                },
            ).get_json()["merchant_id"]
            client.post(
                f"/api/v1/merchants/{merchant}/approve", headers=auth(client, "operator", "o-2")
            )  # maker-checker
            product = client.post(
                f"/api/v1/merchants/{merchant}/products",
                json={
                    "type": "count",
                    "name": "5 washes",
                    "price": 10_000,
                    "uses": 5,
                    "validity_days": 180,
                },
                headers=auth(client, "merchant", merchant),
            ).get_json()
            cards = [
                _bought(
                    client.post(
                        "/api/v1/cards",
                        json={"product_id": product["product_id"]},
                        headers=consumer,
                    )
                )
                for consumer in consumers
            ]
            wait_until(
                lambda m=merchant: (
                    client.get(f"/api/v1/merchants/{m}/health")
                    .get_json()
                    .get("metrics", {})
                    .get("open_cards")
                    == len(consumers)
                ),
                timeout=30,
                what="the risk service to see the cards",
            )
            for consumer, card_id in zip(consumers[:4], cards, strict=False):
                client.post(
                    "/api/v1/complaints",
                    headers=consumer,
                    json={
                        "merchant_id": merchant,
                        "card_id": card_id,
                        "category": "refused_refund",
                        "text": "no refund",
                    },
                )
            started = time.perf_counter()
            client.post(
                "/api/v1/complaints",
                headers=consumers[4],
                json={
                    "merchant_id": merchant,
                    "card_id": cards[4],
                    "category": "refused_refund",
                    "text": "no refund",
                },
            )
            while not any(
                a["merchant_id"] == merchant and a["code"] == "red"
                for a in client.get("/api/v1/alerts?limit=500", headers=regulator).get_json()[
                    "items"
                ]
            ):
                time.sleep(0.005)
            latencies.append(time.perf_counter() - started)
        return sorted(latencies)
    finally:
        app.config["RPC_POOL"].close()
        for process in processes:
            stop(process)


def _recompute(base: Path) -> tuple[float, int]:
    store = SqliteEventStore(base / "risk-10k.db")
    t0 = datetime(2026, 9, 1, tzinfo=UTC)
    try:
        for first in range(0, MERCHANTS, 500):
            with store.unit_of_work() as uow:
                for m in range(first, first + 500):
                    for day in range(0, 60, 20):
                        at = (t0 + timedelta(days=day)).isoformat()
                        commands.observe_event(
                            uow,
                            "escrow.DepositConfirmed.v1",
                            {
                                "merchant_id": f"m-{m}",
                                "card_id": f"c-{m}-{day}",
                                "amount": 50_000,
                                "upfront_amount": 0,
                            },
                            at,
                            rules=RULES,
                        )
                        commands.observe_event(
                            uow,
                            "escrow.RedemptionConfirmed.v1",
                            {"merchant_id": f"m-{m}", "released_amount": 20_000},
                            at,
                            rules=RULES,
                        )
        started = time.perf_counter()
        count = commands.reassess_all(store=store, rules=RULES, now=t0 + timedelta(days=90))
        return time.perf_counter() - started, count
    finally:
        store.close()


def run(report) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-risk-"))
    (base / "rabbit").mkdir()
    node = RabbitNode(base / "rabbit").start()
    try:
        latencies = _surge_latencies(base, node.amqp_uri)
        p99 = percentile(latencies, 0.99) * 1000
        report(
            f"complaint -> red -> alert in the API, p99 ({SURGES} surges)",
            p99,
            None,
            "ms",
            absolute_target=1000,
            lower_is_better=True,
        )
        report("  the same, p50", percentile(latencies, 0.5) * 1000, None, "ms")
    finally:
        node.stop()
    seconds, count = _recompute(base)
    report(
        f"recompute the codes of {count:,} merchants",
        seconds,
        None,
        "s",
        absolute_target=5,
        lower_is_better=True,
    )
