"""The ledger endpoints through the gateway, against the real ledger service."""

from __future__ import annotations

import base64

import pytest

from ledger import merkle
from services.gateway.app import create_app
from tests.support.gateway import gateway_settings
from tests.support.harness import wait_until
from tests.support.ledger_events import payloads, publish

pytestmark = pytest.mark.broker


@pytest.fixture
def client(ledger_service, amqp_uri, tmp_path):
    app = create_app(gateway_settings(tmp_path, amqp_uri))
    yield app.test_client()
    app.config["RPC_POOL"].close()


def login(client, role, subject):
    token = client.post("/auth/dev-login", json={"role": role, "subject": subject}).get_json()
    return {"Authorization": f"Bearer {token['token']}"}


def test_ledger_endpoints_and_who_may_see_what(client, ledger_service, amqp_uri):
    assert client.get("/api/v1/ledger/checkpoint").status_code == 404  # nothing published yet
    events = payloads(12)  # every event names consumer_id c-9 and merchant_id m-1
    publish(amqp_uri, events)
    wait_until(
        lambda: (ledger_service.ledger.checkpoint() or {}).get("size") == 12,
        what="12 entries under a checkpoint",
    )

    checkpoint = client.get("/api/v1/ledger/checkpoint").get_json()
    assert checkpoint["size"] == 12 and len(checkpoint["root_hash"]) == 64

    event_id = events[3].event_id
    url = f"/api/v1/ledger/receipts/{event_id}"
    assert client.get(url).status_code == 401
    for role, subject, status in [
        ("consumer", "c-9", 200),
        ("merchant", "m-1", 200),
        # The entry names a card the escrow (not running here) cannot vouch for: still 404.
        ("consumer", "someone-else", 404),
        ("merchant", "m-2", 404),
        ("regulator", "r", 200),
        ("bank", "b", 200),
        ("operator", "o", 404),
    ]:
        response = client.get(url, headers=login(client, role, subject))
        assert response.status_code == status, (role, subject, response.get_json())
    receipt = client.get(url, headers=login(client, "consumer", "c-9")).get_json()
    assert "parties" not in receipt
    assert merkle.verify_inclusion(
        merkle.leaf_hash(base64.b64decode(receipt["entry"])),
        receipt["index"],
        receipt["tree_size"],
        [bytes.fromhex(h) for h in receipt["inclusion_proof"]],
        bytes.fromhex(receipt["checkpoint"]["root_hash"]),
    )
    assert (
        client.get(
            "/api/v1/ledger/receipts/nope", headers=login(client, "regulator", "r")
        ).status_code
        == 404
    )

    entries_url = "/api/v1/ledger/entries?start=0&end=5"
    assert client.get(entries_url).status_code == 401
    assert client.get(entries_url, headers=login(client, "consumer", "c-9")).status_code == 403
    page = client.get(entries_url, headers=login(client, "bank", "b")).get_json()
    assert [item["index"] for item in page["items"]] == [0, 1, 2, 3, 4]
    assert page["next_cursor"] == "5"
    for bad in (
        "start=5&end=5",
        "start=-1&end=3",
        "start=0&end=900",
        "start=a&end=3",
        "start=0&end=3&extra=1",
    ):
        response = client.get(f"/api/v1/ledger/entries?{bad}", headers=login(client, "bank", "b"))
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["code"] == "invalid_input"

    proof = client.get("/api/v1/ledger/consistency?first=5&second=12").get_json()["proof"]
    first_root = merkle.root(
        [merkle.leaf_hash(base64.b64decode(e["entry"])) for e in page["items"]]
    )
    assert merkle.verify_consistency(
        5, 12, [bytes.fromhex(h) for h in proof], first_root, bytes.fromhex(checkpoint["root_hash"])
    )
    assert client.get("/api/v1/ledger/consistency?first=5&second=13").status_code == 400
    assert client.get("/api/v1/ledger/consistency?first=6&second=5").status_code == 400


def test_openapi_document_lists_the_ledger_and_auth_paths(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    for path in (
        "/api/v1/auth/dev-login",
        "/api/v1/ledger/checkpoint",
        "/api/v1/ledger/entries",
        "/api/v1/ledger/receipts/{event_id}",
        "/api/v1/ledger/consistency",
    ):
        assert path in document["paths"]
    assert "ReceiptResponse" in document["components"]["schemas"]
