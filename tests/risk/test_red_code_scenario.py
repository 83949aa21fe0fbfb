"""The red-code path through HTTP and real RabbitMQ: a complaint surge turns a merchant red, a
regulator works the alert, the deadline passes without improvement, the merchant is delisted
and can sell no more cards."""

from __future__ import annotations

import pytest

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.risk.application.replay import codes_and_alerts, replay
from services.risk.domain.health_code import RiskRules
from tests.support.gateway import auth
from tests.support.harness import wait_until
from tests.support.merchants import onboard
from tests.support.risk_platform import risk_platform

pytestmark = pytest.mark.broker


@pytest.fixture
def platform(tmp_path, amqp_uri):
    # A red merchant's deadline is due at once, so the test needs no 30-day wait.
    with risk_platform(
        tmp_path, amqp_uri, {"red_grace_days = 30": "red_grace_days = 0"}
    ) as running:
        yield running


def test_complaint_surge_to_delisting(platform, tmp_path):
    client, rpc = platform
    regulator = auth(client, "regulator", "r-zhang")
    merchant_id = onboard(client)
    merchant = auth(client, "merchant", merchant_id)
    product = client.post(
        f"/api/v1/merchants/{merchant_id}/products",
        json={
            "type": "count",
            "name": "10 classes",
            "price": 50_000,
            "uses": 10,
            "validity_days": 180,
        },
        headers=merchant,
    ).get_json()["product_id"]
    cards = {}
    for i in range(20):
        consumer = auth(client, "consumer", f"c-{i}")
        cards[f"c-{i}"] = (
            consumer,
            client.post("/api/v1/cards", json={"product_id": product}, headers=consumer).get_json()[
                "card_id"
            ],
        )
    health = f"/api/v1/merchants/{merchant_id}/health"
    wait_until(
        lambda: (
            client.get(health).status_code == 200
            and client.get(health).get_json()["metrics"]["open_cards"] == 20
        ),
        timeout=30,
        what="the risk service to see the 20 cards",
    )
    assert client.get(health).get_json()["code"] == "green"

    for i in range(5):
        consumer, card_id = cards[f"c-{i}"]
        filed = client.post(
            "/api/v1/complaints",
            json={
                "merchant_id": merchant_id,
                "card_id": card_id,
                "category": "refused_refund",
                "text": f"they will not refund me ({i})",
            },
            headers=consumer,
        )
        assert filed.status_code == 201, filed.get_json()

    code = client.get(health).get_json()
    assert code["code"] == "red"
    indicators = {r["indicator"] for r in code["reasons"]}
    assert {"complaint_surge_per_thousand_cards", "complaint_rate_per_thousand_cards"} <= indicators
    public = client.get(f"/api/v1/merchants/{merchant_id}").get_json()
    assert public["health_code"] == "red" and "complaint" in public["public_warning"]

    alerts = client.get("/api/v1/alerts", headers=regulator).get_json()["items"]
    red = next(a for a in alerts if a["merchant_id"] == merchant_id and a["code"] == "red")
    assert red["improve_by"] is not None and red["status"] == "open"
    url = f"/api/v1/alerts/{red['alert_id']}"
    assert (
        client.post(f"{url}/acknowledge", headers=regulator).get_json()["status"] == "acknowledged"
    )
    resolved = client.post(
        f"{url}/resolve",
        json={"disposition": "rectification_ordered", "note": "refund the five within 7 days"},
        headers=regulator,
    ).get_json()
    assert resolved["status"] == "resolved"
    assert [s["by"] for s in resolved["steps"]] == ["regulator:r-zhang"] * 2
    assert red["alert_id"] not in [
        a["alert_id"] for a in client.get("/api/v1/alerts", headers=regulator).get_json()["items"]
    ]

    assert_replay_reproduces(tmp_path)

    swept = rpc.risk.sweep()  # the scheduled work, now: the deadline has passed
    assert swept["delisted"] == 1
    assert client.get(f"/api/v1/merchants/{merchant_id}").get_json()["status"] == "delisted"
    consumer, _ = cards["c-19"]
    refused = client.post("/api/v1/cards", json={"product_id": product}, headers=consumer)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "merchant_may_not_sell"
    assert rpc.risk.sweep()["delisted"] == 0, "a deadline is enforced once"
    owner, card_id = cards["c-7"]
    refund = client.post(
        f"/api/v1/cards/{card_id}/refund", json={"reason": "delisted"}, headers=owner
    )
    assert refund.status_code == 200 and refund.get_json()["refund_amount"] == 50_000


def assert_replay_reproduces(tmp_path):
    """A fresh risk store fed every event from position 0 decides the same codes and alerts."""
    stores = {
        n: SqliteEventStore(tmp_path / f"{n}.db") for n in ("merchant", "escrow", "risk", "fresh")
    }
    try:
        replayed = replay(
            [stores["merchant"], stores["escrow"]],
            stores["risk"],
            stores["fresh"],
            rules=RiskRules.from_policy(load_policy(tmp_path / "policy.toml").risk),
        )
        assert replayed >= 20 + 5
        live, again = codes_and_alerts(stores["risk"]), codes_and_alerts(stores["fresh"])
        assert again == live
        assert sorted(code for _, code, *_ in live[1]) == ["red", "yellow"]
    finally:
        for store in stores.values():
            store.close()
