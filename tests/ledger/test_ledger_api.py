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


def test_a_merchants_ledger_entries_newest_first_with_their_receipts(
    client, ledger_service, amqp_uri
):
    events = payloads(7)  # merchant m-1's, amounts 1000..1006
    other = payloads(2)
    for event in other:
        event.data["merchant_id"] = "m-2"
    publish(amqp_uri, [*events[:3], *other, *events[3:]])
    wait_until(
        lambda: (ledger_service.ledger.checkpoint() or {}).get("size") == 9,
        what="9 entries under a checkpoint",
    )
    url = "/api/v1/merchants/m-1/ledger"
    assert client.get(url).status_code == 401
    for role, subject, status in [
        ("consumer", "c-9", 403),
        ("operator", "o", 403),
        ("merchant", "m-2", 404),
        ("merchant", "m-1", 200),
        ("bank", "b", 200),
    ]:
        response = client.get(url, headers=login(client, role, subject))
        assert response.status_code == status, (role, subject, response.get_json())

    regulator = login(client, "regulator", "r")
    seen, cursor = [], ""
    while True:
        page = client.get(f"{url}?limit=3&cursor={cursor}", headers=regulator).get_json()
        seen.extend(page["items"])
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    # Handlers may append concurrently delivered events in any order: the list follows the log.
    indexes = [item["index"] for item in seen]
    assert indexes == sorted(indexes, reverse=True) and len(set(indexes)) == 7
    amounts = {e.event_id: e.data["amount"] for e in events}
    assert {item["event_id"]: item["amount"] for item in seen} == amounts
    m2 = client.get("/api/v1/merchants/m-2/ledger", headers=regulator).get_json()["items"]
    assert {item["event_id"] for item in m2} == {e.event_id for e in other}
    assert not set(indexes) & {item["index"] for item in m2}
    assert seen[0]["type"] == "escrow.RedemptionConfirmed.v1"
    assert seen[0]["at"] == "2026-11-22T09:00:00+00:00"
    # The consumer is named nowhere: only these fields, and no value is the consumer's id
    # (a substring check once matched "c-9" inside a random event id).
    assert all(set(item) == {"index", "event_id", "type", "at", "amount"} for item in seen)
    assert "c-9" not in {value for item in seen for value in item.values()}

    receipt = client.get(f"/api/v1/ledger/receipts/{seen[0]['event_id']}", headers=regulator)
    assert receipt.get_json()["index"] == seen[0]["index"]

    for bad in ("cursor=bm9wZQ", "limit=0", "limit=501", "cursor=&other=1"):
        response = client.get(f"{url}?{bad}", headers=regulator)
        assert response.status_code == 400, bad
    forged = base64.urlsafe_b64encode(b'["merchant-ledger/m-1","x1"]').decode().rstrip("=")
    response = client.get(f"{url}?cursor={forged}", headers=regulator)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_cursor"
    empty = client.get("/api/v1/merchants/m-unknown/ledger", headers=regulator).get_json()
    assert empty == {"items": [], "next_cursor": None}


def test_openapi_document_lists_the_ledger_and_auth_paths(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    for path in (
        "/api/v1/auth/dev-login",
        "/api/v1/ledger/checkpoint",
        "/api/v1/ledger/entries",
        "/api/v1/ledger/receipts/{event_id}",
        "/api/v1/ledger/consistency",
        "/api/v1/merchants/{merchant_id}/ledger",
    ):
        assert path in document["paths"]
    assert "ReceiptResponse" in document["components"]["schemas"]
