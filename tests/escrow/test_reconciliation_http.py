"""The daily reconciliation over the running platform: real merchant, escrow and risk services,
the simulated bank's statement files, the demo clock moved through POST /demo/clock, and the
reports read through the gateway by the regulator and the bank."""

from __future__ import annotations

import json

import pytest

from eventstore.sqlite import SqliteEventStore
from services import clock
from tests.support.gateway import auth
from tests.support.harness import merchant_and_escrow_gateway, start_service, stop
from tests.support.merchants import onboard

pytestmark = pytest.mark.broker

SV = {"type": "stored_value", "name": "10+1", "price": 1_000, "bonus": 100, "validity_days": 365}


@pytest.fixture
def platform(tmp_path, amqp_uri, monkeypatch):
    # A demo platform with its own clock file, read by this process and the services alike.
    monkeypatch.setenv("PLATFORM_MODE", "demo")
    monkeypatch.setenv("PLATFORM_CLOCK_FILE", str(tmp_path / "clock.json"))
    risk = start_service("risk", tmp_path, amqp_uri)
    try:
        with merchant_and_escrow_gateway(tmp_path, amqp_uri) as client:
            yield client
    finally:
        stop(risk)


def test_each_day_is_reconciled_by_the_clock_and_a_tampered_statement_shows(platform, tmp_path):
    client = platform
    merchant_id = onboard(client)
    product = client.post(
        f"/api/v1/merchants/{merchant_id}/products",
        json=SV,
        headers=auth(client, "merchant", merchant_id),
    ).get_json()
    consumer = auth(client, "consumer", "c-recon")
    operator = auth(client, "operator", "op-1")
    regulator, bank = auth(client, "regulator", "r-1"), auth(client, "bank", "b-1")

    def buy() -> dict:
        bought = client.post(
            "/api/v1/cards", json={"product_id": product["product_id"]}, headers=consumer
        )
        assert bought.status_code == 201, bought.get_json()
        return bought.get_json()

    def next_day(key: str) -> None:
        moved = client.post(
            "/api/v1/demo/clock", json={"days": 1}, headers={**operator, "Idempotency-Key": key}
        )
        assert moved.status_code == 200, moved.get_json()

    first_day = clock.now().date().isoformat()
    buy()
    assert (
        client.get(f"/api/v1/reconciliation/{first_day}", headers=regulator).get_json()["error"][
            "code"
        ]
        == "not_reconciled"
    ), "a day is reconciled once it has ended"
    next_day("day-1")
    clean = client.get(f"/api/v1/reconciliation/{first_day}", headers=regulator)
    assert clean.status_code == 200, clean.get_json()
    assert clean.get_json()["status"] == "matched" and clean.get_json()["differences"] == []
    assert clean.get_json()["matched"] == 1 and clean.get_json()["date"] == first_day
    assert client.get(f"/api/v1/reconciliation/{first_day}", headers=bank).get_json() == (
        clean.get_json()
    ), "the bank sees the same report"

    second_day = clock.now().date().isoformat()
    card = buy()
    statement = tmp_path / "bank" / f"{second_day}.jsonl"
    lines = statement.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["reference"] == card["payment"]["payment_id"]
    statement.write_text("")  # the bank's file lost the day's deposit
    next_day("day-2")
    report = client.get(f"/api/v1/reconciliation/{second_day}", headers=bank).get_json()
    assert report["status"] == "differences" and report["matched"] == 0
    assert report["differences"] == [
        {
            "side": "missing_at_bank",
            "kind": "deposit",
            "reference": card["payment"]["payment_id"],
            "amount": SV["price"],
            "count": 1,
        }
    ]

    listed = client.get("/api/v1/reconciliation?limit=1", headers=regulator).get_json()
    assert [r["date"] for r in listed["items"]] == [second_day]
    rest = client.get(
        f"/api/v1/reconciliation?limit=1&cursor={listed['next_cursor']}", headers=regulator
    ).get_json()
    assert rest["items"] == [clean.get_json()] and rest["next_cursor"] is None
    assert client.get("/api/v1/reconciliation/2026-02-30", headers=bank).get_json()["error"][
        "code"
    ] == ("invalid_date")
    assert client.get("/api/v1/reconciliation", headers=consumer).status_code == 403

    # The report is an escrow event in the escrow's store, which its outbox relay publishes.
    store = SqliteEventStore(tmp_path / "escrow.db")
    try:
        events = store.read_stream(f"reconciliation-{second_day}")
    finally:
        store.close()
    assert [e.type for e in events] == ["escrow.ReconciliationCompleted.v1"]
    assert events[0].data == {
        "day": second_day,
        "status": "differences",
        "matched": 0,
        "differences": report["differences"],
        "reconciled_at": report["reconciled_at"],
        "differences_total": len(report["differences"]),
    }
