"""Merchants through HTTP, the gateway and a real merchant service on RabbitMQ."""

from __future__ import annotations

import pytest

from privacy import Vault
from services.gateway.app import create_app
from tests.support.gateway import auth, gateway_settings
from tests.support.harness import start_service, stop, wait_until
from tests.support.merchants import PHONE, application, onboard

pytestmark = pytest.mark.broker


@pytest.fixture
def client(tmp_path, amqp_uri):
    service = start_service("merchant", tmp_path, amqp_uri)
    app = create_app(gateway_settings(tmp_path, amqp_uri))
    client = app.test_client()
    wait_until(
        lambda: client.get("/api/v1/merchants").status_code == 200,
        timeout=60,
        what="the merchant service",
    )
    yield client
    app.config["RPC_POOL"].close()
    stop(service)


def test_onboarding_the_public_card_and_masking(client, tmp_path):
    operator = auth(client, "operator", "op-1")
    created = client.post("/api/v1/merchants", json=application(), headers=operator)
    assert created.status_code == 201 and created.get_json()["status"] == "pending"
    merchant_id = created.get_json()["merchant_id"]
    assert client.get("/api/v1/merchants").get_json()["items"] == [], "pending is not listed"

    for headers, status in [
        ({}, 401),
        (auth(client, "merchant", merchant_id), 403),
        (auth(client, "consumer", "c"), 403),
    ]:
        assert (
            client.post(f"/api/v1/merchants/{merchant_id}/approve", headers=headers).status_code
            == status
        )
    assert (
        client.post(
            f"/api/v1/merchants/{merchant_id}/approve", headers=auth(client, "operator", "op-2")
        ).get_json()["status"]
        == "active"
    )
    assert client.post("/api/v1/merchants/m-nope/approve", headers=operator).status_code == 404

    public = client.get(f"/api/v1/merchants/{merchant_id}").get_json()
    assert public["contact_phone"] == "*******5678" and public["status"] == "active"
    own = client.get(
        f"/api/v1/merchants/{merchant_id}", headers=auth(client, "merchant", merchant_id)
    ).get_json()
    assert own["contact_phone"] == PHONE
    other = client.get(
        f"/api/v1/merchants/{merchant_id}", headers=auth(client, "merchant", "m-other")
    ).get_json()
    assert other["contact_phone"] == "*******5678"
    assert client.get("/api/v1/merchants/m-nope").status_code == 404

    assert PHONE.encode() not in (tmp_path / "merchant.db").read_bytes()
    assert PHONE not in (tmp_path / "service:MerchantService.log").read_text()

    vault = Vault(tmp_path / "merchant-vault.db")
    vault.forget(merchant_id)  # the merchant asked to be forgotten
    vault.close()
    assert (
        client.get(
            f"/api/v1/merchants/{merchant_id}", headers=auth(client, "merchant", merchant_id)
        ).get_json()["contact_phone"]
        is None
    )


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"uscc": "91350100M000100Y44"}, "invalid_uscc"),
        ({"industry": "casino"}, "invalid_input"),
        ({"contact_phone": "call me"}, "invalid_input"),
        ({"extra": 1}, "invalid_input"),
    ],
)
def test_bad_applications_get_400_and_change_nothing(client, changes, code):
    operator = auth(client, "operator", "op-1")
    response = client.post("/api/v1/merchants", json=application(**changes), headers=operator)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code
    assert client.get("/api/v1/merchants").get_json()["items"] == []


def test_directory_lists_active_merchants_by_industry(client):
    gym = onboard(client)
    school = onboard(client, industry="education", name="Weihai English")
    operator = auth(client, "operator", "op-1")
    client.post("/api/v1/merchants", json=application(name="Pending"), headers=operator)
    listed = client.get("/api/v1/merchants").get_json()
    assert {m["merchant_id"] for m in listed["items"]} == {gym, school}
    only = client.get("/api/v1/merchants?industry=education").get_json()["items"]
    assert [m["merchant_id"] for m in only] == [school]
    first = client.get("/api/v1/merchants?limit=1").get_json()
    second = client.get(f"/api/v1/merchants?limit=1&cursor={first['next_cursor']}").get_json()
    assert {first["items"][0]["merchant_id"], second["items"][0]["merchant_id"]} == {gym, school}
    assert client.get("/api/v1/merchants?limit=501").status_code == 400


def test_products_and_their_policy_checks(client):
    merchant_id = onboard(client)
    me = auth(client, "merchant", merchant_id)
    url = f"/api/v1/merchants/{merchant_id}/products"
    card = {
        "type": "stored_value",
        "name": "1000 + 200",
        "price": 100_000,
        "bonus": 20_000,
        "validity_days": 365,
    }
    created = client.post(url, json=card, headers=me)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["bonus"] == 20_000 and created.get_json()["sector"] == "fitness"

    greedy = client.post(url, json=card | {"bonus": 30_001}, headers=me)
    assert greedy.status_code == 422
    breach = greedy.get_json()["error"]
    assert breach["code"] == "policy_breach"
    assert breach["details"]["breaches"][0]["rule"] == "cards.max_bonus_ratio_percent"
    assert client.post(url, json=card | {"price": 100_000.0}, headers=me).status_code == 400
    assert client.post(url, json=card | {"price": "100000"}, headers=me).status_code == 400
    assert client.post(url, json={"type": "gift"}, headers=me).status_code == 400
    assert client.post(url, json=card, headers=auth(client, "merchant", "m-x")).status_code == 404
    assert client.post(url, json=card, headers=auth(client, "operator", "o")).status_code == 403
    count = {
        "type": "count",
        "name": "10 classes",
        "price": 80_000,
        "uses": 10,
        "validity_days": 180,
    }
    assert client.post(url, json=count, headers=me).status_code == 201
    period = {"type": "period", "name": "Year", "price": 300_000, "period_days": 365}
    assert client.post(url, json=period, headers=me).status_code == 201


def test_idempotency_keys(client):
    operator = auth(client, "operator", "op-1") | {"Idempotency-Key": "apply-1"}
    first = client.post("/api/v1/merchants", json=application(), headers=operator)
    again = client.post("/api/v1/merchants", json=application(), headers=operator)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    reused = client.post("/api/v1/merchants", json=application(name="Other"), headers=operator)
    assert reused.status_code == 422
    assert reused.get_json()["error"]["code"] == "idempotency_key_reused"
    other_caller = auth(client, "operator", "op-2") | {"Idempotency-Key": "apply-1"}
    other = client.post("/api/v1/merchants", json=application(), headers=other_caller)
    assert other.get_json() != first.get_json(), "keys are per caller"
    assert other.status_code == 409, "and then the code is taken already"
    refused = auth(client, "operator", "op-1") | {"Idempotency-Key": "bad-1"}
    bad = application(uscc="91350100M000100Y44")
    assert client.post("/api/v1/merchants", json=bad, headers=refused).status_code == 400
    assert client.post("/api/v1/merchants", json=bad, headers=refused).status_code == 400
