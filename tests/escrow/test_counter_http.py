"""The counter and the consumer's pages through HTTP, the gateway and real merchant and escrow
services: a code looked up at the counter, a spend requested on it and seen by the consumer at
once with the merchant's name, confirmed, then the card's history, its refund quote and the
refund, the merchant's lists and its figures by day; with the error cases of each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.gateway import auth
from tests.support.harness import merchant_and_escrow_gateway
from tests.support.merchants import onboard

pytestmark = pytest.mark.broker

SV = {
    "type": "stored_value",
    "name": "1000+200",
    "price": 100_000,
    "bonus": 20_000,
    "validity_days": 365,
}


@pytest.fixture
def client(tmp_path, amqp_uri):
    with merchant_and_escrow_gateway(tmp_path, amqp_uri) as client:
        yield client


def error_code(answer) -> str:
    return answer.get_json()["error"]["code"]


def test_from_the_counter_to_the_consumers_confirmation_and_refund(client):
    merchant_id = onboard(client, name="海滨健身")
    other_id = onboard(client)
    merchant = auth(client, "merchant", merchant_id)
    other = auth(client, "merchant", other_id)
    owner = auth(client, "consumer", "c-owner")
    stranger = auth(client, "consumer", "c-stranger")
    product = client.post(f"/api/v1/merchants/{merchant_id}/products", json=SV, headers=merchant)
    card_id = client.post(
        "/api/v1/cards", json={"product_id": product.get_json()["product_id"]}, headers=owner
    ).get_json()["card_id"]
    card = client.get(f"/api/v1/cards/{card_id}", headers=owner).get_json()
    code = card["card_code"]
    assert len(code) == 12 and code.isdigit()
    mine = client.get("/api/v1/consumers/me/cards", headers=owner).get_json()["items"]
    assert [c["card_code"] for c in mine] == [code]

    # The counter: its own card by code, typed in groups; nothing else.
    lookup = f"/api/v1/merchants/{merchant_id}/counter/lookup"
    typed = f"{code[:4]} {code[4:8]} {code[8:]}"
    found = client.post(
        lookup, json={"card_code": typed}, headers={**merchant, "Idempotency-Key": "k1"}
    )
    assert found.status_code == 200, found.get_json()
    assert (found.get_json()["card_id"], found.get_json()["balance"]) == (
        card_id,
        {"value": 120_000},
    )
    assert "consumer_id" not in found.get_json()
    again = client.post(
        lookup, json={"card_code": typed}, headers={**merchant, "Idempotency-Key": "k1"}
    )
    assert again.get_json() == found.get_json()
    mistyped = code[:-1] + str((int(code[-1]) + 1) % 10)
    for body, status, expected in (
        ({"card_code": mistyped}, 404, "card_not_found"),
        ({"card_code": "0000 0000 000"}, 400, "invalid_card_code"),
        ({"card_code": 123456789012}, 400, "invalid_input"),
        ({}, 400, "invalid_input"),
    ):
        answer = client.post(lookup, json=body, headers=merchant)
        assert (answer.status_code, error_code(answer)) == (status, expected), body
    elsewhere = client.post(
        f"/api/v1/merchants/{other_id}/counter/lookup", json={"card_code": code}, headers=other
    )
    assert (elsewhere.status_code, error_code(elsewhere)) == (404, "card_not_found")
    assert client.post(lookup, json={"card_code": code}, headers=other).status_code == 404
    assert client.post(lookup, json={"card_code": code}, headers=owner).status_code == 403

    # A spend asked at the counter is on the consumer's list at once, with the shop's name.
    hold = client.post(
        f"/api/v1/cards/{card_id}/redemptions", json={"amount": 30_000}, headers=merchant
    ).get_json()
    rid = hold["redemption_id"]
    pending = client.get("/api/v1/consumers/me/redemptions", headers=owner).get_json()
    assert [
        (r["redemption_id"], r["merchant_name"], r["amount"], r["status"]) for r in pending["items"]
    ] == [(rid, "海滨健身", 30_000, "pending")]
    assert pending["next_cursor"] is None
    assert (
        client.get("/api/v1/consumers/me/redemptions", headers=stranger).get_json()["items"] == []
    )
    bad = client.get("/api/v1/consumers/me/redemptions?status=lost", headers=owner)
    assert (bad.status_code, error_code(bad)) == (400, "invalid_input")
    bad_cursor = client.get("/api/v1/consumers/me/redemptions?cursor=abc", headers=owner)
    assert (bad_cursor.status_code, error_code(bad_cursor)) == (400, "invalid_cursor")

    one = f"/api/v1/redemptions/{rid}"
    assert client.get(one, headers=merchant).get_json()["status"] == "pending"
    for outsider in (stranger, other, auth(client, "regulator", "r-1")):
        assert client.get(one, headers=outsider).status_code in (403, 404)
    assert client.get("/api/v1/redemptions/red-none", headers=owner).status_code == 404
    confirmed = client.post(f"{one}/confirm", headers=owner).get_json()
    assert client.get(one, headers=owner).get_json()["status"] == "confirmed"
    assert client.get("/api/v1/consumers/me/redemptions", headers=owner).get_json()["items"] == []
    listed = client.get(
        f"/api/v1/merchants/{merchant_id}/redemptions?status=confirmed", headers=merchant
    ).get_json()["items"]
    assert [r["redemption_id"] for r in listed] == [rid]

    # The history: each money event under the id its ledger receipt has.
    history = f"/api/v1/cards/{card_id}/history"
    items = client.get(history, headers=owner).get_json()["items"]
    assert [(i["type"], i["amount"]) for i in items] == [
        ("deposit", 100_000),
        ("redemption_confirmed", 25_000),
    ]
    assert items[1]["event_id"] == confirmed["event_id"]
    assert client.get(history, headers=merchant).status_code == 200
    assert client.get(history, headers=auth(client, "regulator", "r-1")).status_code == 200
    assert client.get(history, headers=stranger).status_code == 404
    assert client.get(history, headers=other).status_code == 404
    assert client.get("/api/v1/cards/card-none/history", headers=owner).status_code == 404

    # The quote, then the refund: the same amount; a rule that does not apply, the same 422.
    quote_url = f"/api/v1/cards/{card_id}/refund-quote"
    cooling = client.get(f"{quote_url}?rule=cooling_off", headers=owner)
    assert (cooling.status_code, error_code(cooling)) == (422, "cooling_off_not_applicable")
    refused = client.post(
        f"/api/v1/cards/{card_id}/refund",
        json={"reason": "moving", "rule": "cooling_off"},
        headers=owner,
    )
    assert (refused.status_code, error_code(refused)) == (422, "cooling_off_not_applicable")
    assert client.get(f"{quote_url}?rule=expiry", headers=owner).status_code == 400
    assert client.get(quote_url, headers=stranger).status_code == 404
    assert client.get(quote_url, headers=merchant).status_code == 403
    quote = client.get(f"{quote_url}?rule=on_request", headers=owner).get_json()
    assert (quote["rule"], quote["refund_amount"]) == ("on_request", 75_000)
    assert quote["inputs"]["value_used"] == 30_000
    refund = client.post(
        f"/api/v1/cards/{card_id}/refund",
        json={"reason": "moving", "rule": "on_request"},
        headers=owner,
    ).get_json()
    assert refund["refund_amount"] == quote["refund_amount"]
    assert (
        client.get(history, headers=owner).get_json()["items"][-1]["event_id"] == refund["event_id"]
    )

    # The merchant's cards: no consumer named; another merchant sees none of them.
    cards = client.get(f"/api/v1/merchants/{merchant_id}/cards", headers=merchant).get_json()
    assert [c["card_id"] for c in cards["items"]] == [card_id]
    assert "consumer_id" not in cards["items"][0]
    assert client.get(f"/api/v1/merchants/{merchant_id}/cards", headers=other).status_code == 404
    regulator = auth(client, "regulator", "r-1")
    assert (
        client.get(f"/api/v1/merchants/{merchant_id}/cards", headers=regulator).status_code == 200
    )


def test_daily_figures_and_their_range_rules(client):
    merchant_id = onboard(client)
    merchant = auth(client, "merchant", merchant_id)
    product = client.post(f"/api/v1/merchants/{merchant_id}/products", json=SV, headers=merchant)
    owner = auth(client, "consumer", "c-1")
    client.post(
        "/api/v1/cards", json={"product_id": product.get_json()["product_id"]}, headers=owner
    )
    today = datetime.now(UTC).date()
    start = today - timedelta(days=6)
    url = f"/api/v1/merchants/{merchant_id}/stats/daily"
    rows = client.get(f"{url}?from={start}&to={today}", headers=merchant).get_json()["items"]
    assert [r["day"] for r in rows] == [(start + timedelta(days=i)).isoformat() for i in range(7)]
    assert [r["issuance_amount"] for r in rows] == [0] * 6 + [100_000]
    assert [r["escrow_held"] for r in rows] == [0] * 6 + [100_000]
    stats = client.get(f"/api/v1/merchants/{merchant_id}/stats", headers=merchant).get_json()
    assert rows[-1]["outstanding_balance"] == stats["outstanding_balance"]
    regulator = auth(client, "regulator", "r-1")
    assert client.get(f"{url}?from={today}&to={today}", headers=regulator).status_code == 200
    for query, expected in (
        (f"from={today}&to={start}", "invalid_date_range"),
        (f"from={today - timedelta(days=366)}&to={today}", "date_range_too_long"),
        (f"from=yesterday&to={today}", "invalid_input"),
        (f"to={today}", "invalid_input"),
    ):
        answer = client.get(f"{url}?{query}", headers=merchant)
        assert (answer.status_code, error_code(answer)) == (400, expected), query
    other = auth(client, "merchant", "m-other")
    assert client.get(f"{url}?from={today}&to={today}", headers=other).status_code == 404
    assert client.get(f"{url}?from={today}&to={today}", headers=owner).status_code == 403
    missing = client.get(
        f"/api/v1/merchants/m-none/stats/daily?from={today}&to={today}", headers=regulator
    )
    assert missing.status_code == 404
