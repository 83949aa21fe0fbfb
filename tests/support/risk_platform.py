"""The merchant, escrow and risk services on real RabbitMQ, with their relays, behind the
gateway's test client: what the risk findings' tests drive through HTTP."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from nameko.standalone.rpc import ClusterRpcProxy

from policy import DEFAULT_FILE
from services.gateway.app import create_app
from tests.support.gateway import auth, gateway_settings
from tests.support.harness import start_relay, start_service, stop, store_url, wait_until
from tests.support.merchants import onboard


@contextmanager
def risk_platform(tmp_path: Path, amqp_uri: str, policy_changes: dict | None = None):
    """Yields (gateway test client, RPC proxy); `policy_changes` replaces lines of the
    shipped policy for the risk service (e.g. a red deadline that is due at once)."""
    policy = tmp_path / "policy.toml"
    text = Path(DEFAULT_FILE).read_text()
    for old, new in (policy_changes or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    policy.write_text(text)
    stores = {name: store_url(tmp_path, name) for name in ("merchant", "escrow", "risk")}
    processes = [
        start_service("merchant", tmp_path, amqp_uri),
        start_service("escrow", tmp_path, amqp_uri),
        start_service("risk", tmp_path, amqp_uri, POLICY_FILE=str(policy)),
        start_relay("merchant", stores["merchant"], amqp_uri, tmp_path),
        start_relay("escrow", stores["escrow"], amqp_uri, tmp_path),
        start_relay("risk", stores["risk"], amqp_uri, tmp_path),
    ]
    app = create_app(gateway_settings(tmp_path, amqp_uri))
    client = app.test_client()
    rpc = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30)
    proxy = rpc.start()
    try:
        regulator = auth(client, "regulator", "r-zhang")
        wait_until(
            lambda: (
                client.get("/api/v1/alerts", headers=regulator).status_code == 200
                and client.get("/api/v1/merchants").status_code == 200
                and client.get(
                    "/api/v1/consumers/me/cards", headers=auth(client, "consumer", "c-probe")
                ).status_code
                == 200
            ),
            timeout=60,
            what="the services",
        )
        yield client, proxy
    finally:
        rpc.stop()
        app.config["RPC_POOL"].close()
        for process in processes:
            stop(process)


def shop_with_customers(client, customers: int, prefix: str = "c") -> tuple[str, dict]:
    """An approved merchant whose `customers` consumers each bought and paid one count card;
    returns its id and {consumer id: (their auth headers, their card id)} once the risk
    service has seen every card."""
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
    for i in range(customers):
        consumer_id = f"{prefix}-{i}"
        consumer = auth(client, "consumer", consumer_id)
        bought = client.post("/api/v1/cards", json={"product_id": product}, headers=consumer)
        assert bought.status_code == 201, bought.get_json()
        cards[consumer_id] = (consumer, bought.get_json()["card_id"])
    wait_until(
        lambda: health(client, merchant_id).get("metrics", {}).get("open_cards") == customers,
        timeout=60,
        what=f"the risk service to see {customers} cards",
    )
    return merchant_id, cards


def health(client, merchant_id: str) -> dict:
    answer = client.get(f"/api/v1/merchants/{merchant_id}/health")
    return answer.get_json() if answer.status_code == 200 else {}


def complain(
    client,
    headers: dict,
    merchant_id: str,
    card_id: str | None = None,
    text: str = "they will not refund me",
):
    body = {"merchant_id": merchant_id, "category": "refused_refund", "text": text}
    return client.post(
        "/api/v1/complaints", json=body | ({"card_id": card_id} if card_id else {}), headers=headers
    )
