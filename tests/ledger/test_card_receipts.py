"""A card's owner reads the receipt of every money event of the card, against real merchant,
escrow and ledger services: the deposit, a hold, its rejection and a release name only the
card (no consumer), yet they are the owner's; another consumer gets the unknown id's 404."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from policy import DEFAULT_FILE
from services.gateway.app import create_app
from tests.support.gateway import auth, gateway_settings
from tests.support.harness import (
    start_nameko,
    start_relay,
    start_service,
    stop,
    store_url,
    wait_until,
)
from tests.support.merchants import onboard

pytestmark = pytest.mark.broker

CARD_ONLY = (
    "escrow.DepositConfirmed.v1",
    "escrow.RedemptionRequested.v1",
    "escrow.RedemptionVoided.v1",
    "escrow.FundsReleased.v1",
)


@pytest.fixture
def client(tmp_path, amqp_uri):
    # Value used is paid at list price on a refund, so refunding a used card with a bonus
    # releases money to the merchant by rule (FundsReleased) before the refund.
    policy = tmp_path / "policy.toml"
    policy.write_text(
        Path(DEFAULT_FILE)
        .read_text()
        .replace('stored_value_formula = "pro_rata"', 'stored_value_formula = "list_price"')
    )
    assert 'stored_value_formula = "list_price"' in policy.read_text()
    processes = [
        start_service("merchant", tmp_path, amqp_uri),
        start_service("escrow", tmp_path, amqp_uri, POLICY_FILE=str(policy)),
        start_nameko(
            "ledger.service:LedgerService",
            {"AMQP_URI": amqp_uri, "LEDGER_DIR": str(tmp_path / "ledger")},
            tmp_path,
        ),
        start_relay("escrow", store_url(tmp_path, "escrow"), amqp_uri, tmp_path),
    ]
    app = create_app(gateway_settings(tmp_path, amqp_uri))
    client = app.test_client()
    try:
        probe = auth(client, "consumer", "c-probe")
        wait_until(
            lambda: (
                client.get("/api/v1/merchants").status_code == 200
                and client.get("/api/v1/consumers/me/cards", headers=probe).status_code == 200
                and client.get("/api/v1/ledger/checkpoint").status_code != 503
            ),
            timeout=120,
            what="the merchant, escrow and ledger services",
        )
        yield client
    finally:
        app.config["RPC_POOL"].close()
        for process in processes:
            stop(process)


def _ok(answer, status=(200, 201)):
    assert answer.status_code in status, answer.get_json()
    return answer.get_json()


def _card_events(client, card_id: str, expected: set[str]) -> dict[str, str]:
    """Event type -> id of the card's notarised events, once every `expected` type is under a
    checkpoint (waiting for a count instead raced: the card has more events than it names)."""
    bank = auth(client, "bank", "b-1")

    def notarised():
        checkpoint = client.get("/api/v1/ledger/checkpoint")
        if checkpoint.status_code != 200:
            return None
        size = checkpoint.get_json()["size"]
        page = client.get(f"/api/v1/ledger/entries?start=0&end={size}", headers=bank)
        entries = [json.loads(base64.b64decode(e["entry"])) for e in _ok(page)["items"]]
        found = {
            e["event"]["type"]: e["event"]["id"]
            for e in entries
            if e["parties"].get("card_id") == card_id
        }
        return found if expected <= found.keys() else None

    return wait_until(notarised, timeout=60, what="the card's events under a checkpoint")


def test_the_owner_of_a_card_gets_the_receipt_of_each_of_its_money_events(client):
    merchant_id = onboard(client)
    merchant = auth(client, "merchant", merchant_id)
    owner, stranger = auth(client, "consumer", "c-owner"), auth(client, "consumer", "c-other")
    product = _ok(
        client.post(
            f"/api/v1/merchants/{merchant_id}/products",
            json={
                "type": "stored_value",
                "name": "100+20",
                "price": 10_000,
                "bonus": 2_000,
                "validity_days": 365,
            },
            headers=merchant,
        )
    )
    card_id = _ok(
        client.post("/api/v1/cards", json={"product_id": product["product_id"]}, headers=owner)
    )["card_id"]
    redemptions = f"/api/v1/cards/{card_id}/redemptions"
    spent = _ok(client.post(redemptions, json={"amount": 6_000}, headers=merchant))
    _ok(
        client.post(f"/api/v1/redemptions/{spent['redemption_id']}/confirm", json={}, headers=owner)
    )
    refused = _ok(client.post(redemptions, json={"amount": 100}, headers=merchant))
    _ok(
        client.post(
            f"/api/v1/redemptions/{refused['redemption_id']}/reject", json={}, headers=owner
        )
    )
    _ok(client.post(f"/api/v1/cards/{card_id}/refund", json={"reason": "moving"}, headers=owner))

    named = {"escrow.CardPurchased.v1", "escrow.RedemptionConfirmed.v1", "escrow.CardRefunded.v1"}
    events = _card_events(client, card_id, expected={*CARD_ONLY, *named})
    assert set(CARD_ONLY) <= set(events), sorted(events)
    for event_type in CARD_ONLY:
        url = f"/api/v1/ledger/receipts/{events[event_type]}"
        receipt = client.get(url, headers=owner)
        assert receipt.status_code == 200, (event_type, receipt.get_json())
        assert "parties" not in receipt.get_json()
        other = client.get(url, headers=stranger)
        assert other.status_code == 404, event_type
        unknown = client.get("/api/v1/ledger/receipts/nope", headers=stranger)
        assert other.get_json() == unknown.get_json(), "as absent as an unknown id"
    # The events that name their consumer stay theirs, and the merchant's rule is unchanged.
    for event_type in ("escrow.CardPurchased.v1", "escrow.CardRefunded.v1"):
        url = f"/api/v1/ledger/receipts/{events[event_type]}"
        assert client.get(url, headers=owner).status_code == 200
        assert client.get(url, headers=stranger).status_code == 404
    deposit = f"/api/v1/ledger/receipts/{events['escrow.DepositConfirmed.v1']}"
    assert client.get(deposit, headers=merchant).status_code == 200
    assert client.get(deposit, headers=auth(client, "regulator", "r-1")).status_code == 200
