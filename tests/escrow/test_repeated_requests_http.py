"""Through the gateway and the real escrow over RabbitMQ: a client's retry after a 5xx (its
Idempotency-Key not answered from the gateway's records) and an RPC message executed a
second time (what RabbitMQ's redelivery to another replica does) each hold once."""

from __future__ import annotations

import pytest

from services.gateway.clients import clients
from services.gateway.idempotency import request_identity
from services.gateway.request_context import metadata
from tests.support.gateway import auth
from tests.support.harness import merchant_and_escrow_gateway
from tests.support.merchants import onboard

pytestmark = pytest.mark.broker


class FirstAnswerLost:
    """The gateway's idempotency records, but the first request ends as a 5xx would after
    the escrow did its work (a lost reply, a gateway replica dying): nothing is stored."""

    def __init__(self, records):
        self.records, self.lost = records, False

    def begin(self, scope, key, fingerprint):
        return self.records.begin(scope, key, fingerprint)

    def finish(self, scope, key, status, body):
        if not self.lost:
            self.lost = True
            status, body = 500, b""
        self.records.finish(scope, key, status, body)


@pytest.fixture
def client(tmp_path, amqp_uri):
    with merchant_and_escrow_gateway(tmp_path, amqp_uri) as client:
        yield client


def _card(client) -> tuple[str, dict, dict, str]:
    merchant_id = onboard(client)
    merchant = auth(client, "merchant", merchant_id)
    product = client.post(
        f"/api/v1/merchants/{merchant_id}/products",
        json={"type": "stored_value", "name": "1000", "price": 100_000, "validity_days": 365},
        headers=merchant,
    ).get_json()
    owner = auth(client, "consumer", "c-owner")
    bought = client.post("/api/v1/cards", json={"product_id": product["product_id"]}, headers=owner)
    assert bought.status_code == 201, bought.get_json()
    return merchant_id, merchant, owner, bought.get_json()["card_id"]


def _pending(client, merchant_id: str, merchant: dict) -> list[str]:
    listed = client.get(
        f"/api/v1/merchants/{merchant_id}/redemptions?status=pending", headers=merchant
    )
    assert listed.status_code == 200, listed.get_json()
    return [r["redemption_id"] for r in listed.get_json()["items"]]


def test_a_retry_after_a_5xx_under_the_same_key_holds_once(client):
    merchant_id, merchant, _, card_id = _card(client)
    app = client.application
    app.config["IDEMPOTENCY"] = FirstAnswerLost(app.config["IDEMPOTENCY"])
    headers = {**merchant, "Idempotency-Key": "counter-7-sale-1"}
    url = f"/api/v1/cards/{card_id}/redemptions"
    first = client.post(url, json={"amount": 30_000}, headers=headers)
    retry = client.post(url, json={"amount": 30_000}, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers, "the retry ran again in the escrow"
    assert retry.get_json() == first.get_json()
    assert _pending(client, merchant_id, merchant) == [first.get_json()["redemption_id"]]
    other = client.post(url, json={"amount": 30_000}, headers={**merchant, "Idempotency-Key": "2"})
    assert other.get_json()["redemption_id"] != first.get_json()["redemption_id"]


def test_a_redelivered_redemption_message_holds_once(client):
    merchant_id, merchant, _, card_id = _card(client)
    url = f"/api/v1/cards/{card_id}/redemptions"
    first = client.post(url, json={"amount": 30_000}, headers=merchant)  # no key: fresh identity
    assert first.status_code == 201
    with client.application.test_request_context(url, method="POST", headers=merchant):
        # The message the gateway sent, executed once more (as on another replica).
        identity = request_identity()
        sent = (card_id, merchant_id, 30_000, 0, metadata(), identity)
        once = clients().escrow.request_redemption(*sent)
        twice = clients().escrow.request_redemption(*sent)
    assert once == twice
    assert once["redemption_id"] != first.get_json()["redemption_id"], "another HTTP request"
    assert sorted(_pending(client, merchant_id, merchant)) == sorted(
        [first.get_json()["redemption_id"], once["redemption_id"]]
    )


def test_a_purchase_and_a_refund_retried_after_a_5xx_happen_once(client):
    merchant_id, merchant, owner, card_id = _card(client)
    app = client.application
    keyed = {**owner, "Idempotency-Key": "refund-1"}
    app.config["IDEMPOTENCY"] = FirstAnswerLost(app.config["IDEMPOTENCY"])
    refund_url = f"/api/v1/cards/{card_id}/refund"
    first = client.post(refund_url, json={"reason": "moving away"}, headers=keyed)
    retry = client.post(refund_url, json={"reason": "moving away"}, headers=keyed)
    assert first.status_code == retry.status_code == 200, retry.get_json()
    assert retry.get_json() == first.get_json()

    product_id = client.get(f"/api/v1/cards/{card_id}", headers=owner).get_json()["product_id"]
    app.config["IDEMPOTENCY"] = FirstAnswerLost(app.config["IDEMPOTENCY"].records)
    buying = {**owner, "Idempotency-Key": "buy-2"}
    bought = client.post("/api/v1/cards", json={"product_id": product_id}, headers=buying)
    again = client.post("/api/v1/cards", json={"product_id": product_id}, headers=buying)
    assert bought.status_code == again.status_code == 201
    assert again.get_json() == bought.get_json()
    mine = client.get("/api/v1/consumers/me/cards", headers=owner).get_json()["items"]
    assert sorted(c["card_id"] for c in mine) == sorted([card_id, bought.get_json()["card_id"]])
