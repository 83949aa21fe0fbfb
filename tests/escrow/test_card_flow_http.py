"""Each card type end to end through HTTP, the gateway and real merchant and escrow services."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.gateway import auth
from tests.support.harness import merchant_and_escrow_gateway
from tests.support.merchants import onboard

pytestmark = pytest.mark.broker


@pytest.fixture
def client(tmp_path, amqp_uri):
    with merchant_and_escrow_gateway(tmp_path, amqp_uri) as client:
        yield client


CASES = {
    # product, redemption request, released on confirm, refund of the rest
    "stored_value": (
        {
            "type": "stored_value",
            "name": "1000+200",
            "price": 100_000,
            "bonus": 20_000,
            "validity_days": 365,
        },
        {"amount": 30_000},
        25_000,
        75_000,
    ),
    "count": (
        {"type": "count", "name": "10 lessons", "price": 80_000, "uses": 10, "validity_days": 180},
        {"uses": 3},
        24_000,
        56_000,
    ),
    "period": (
        {"type": "period", "name": "Quarter", "price": 90_000, "period_days": 90},
        {},
        0,
        90_000,
    ),
}


@pytest.mark.parametrize("card_type", CASES)
def test_card_life_through_http(client, card_type, tmp_path):
    product_body, redemption, released, refund_amount = CASES[card_type]
    merchant_id = onboard(client)
    merchant = auth(client, "merchant", merchant_id)
    product = client.post(
        f"/api/v1/merchants/{merchant_id}/products", json=product_body, headers=merchant
    ).get_json()

    owner = auth(client, "consumer", "c-owner")
    bought = client.post("/api/v1/cards", json={"product_id": product["product_id"]}, headers=owner)
    assert bought.status_code == 201, bought.get_json()
    card_id = bought.get_json()["card_id"]
    assert bought.get_json()["status"] == "active", "the demo bank confirms at once"
    assert bought.get_json()["payment"]["amount"] == product_body["price"]

    hold = client.post(f"/api/v1/cards/{card_id}/redemptions", json=redemption, headers=merchant)
    assert hold.status_code == 201, hold.get_json()
    rid = hold.get_json()["redemption_id"]
    assert (
        client.post(
            f"/api/v1/redemptions/{rid}/confirm", headers=auth(client, "consumer", "c-thief")
        ).status_code
        == 404
    )
    confirmed = client.post(f"/api/v1/redemptions/{rid}/confirm", headers=owner).get_json()
    assert confirmed["status"] == "confirmed" and confirmed["released_amount"] == released
    again = client.post(f"/api/v1/redemptions/{rid}/confirm", headers=owner).get_json()
    assert again == confirmed

    card = client.get(f"/api/v1/cards/{card_id}", headers=owner).get_json()
    assert card["deposited"] == product_body["price"]
    assert card["released_amount"] == released
    assert card["escrow_held"] == product_body["price"] - released
    assert "consumer_id" not in card
    assert client.get(f"/api/v1/cards/{card_id}", headers=merchant).status_code == 200
    assert (
        client.get(
            f"/api/v1/cards/{card_id}", headers=auth(client, "merchant", "m-other")
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"/api/v1/cards/{card_id}", headers=auth(client, "consumer", "c-thief")
        ).status_code
        == 404
    )
    mine = client.get("/api/v1/consumers/me/cards", headers=owner).get_json()["items"]
    assert [c["card_id"] for c in mine] == [card_id]
    stats_url = f"/api/v1/merchants/{merchant_id}/stats"
    stats = client.get(stats_url, headers=merchant).get_json()
    assert {
        k: stats[k]
        for k in (
            "cards_issued",
            "issuance_amount",
            "redemption_amount",
            "refund_amount",
            "outstanding_balance",
            "escrow_held",
        )
    } == {
        "cards_issued": 1,
        "issuance_amount": product_body["price"],
        "redemption_amount": released,
        "refund_amount": 0,
        "outstanding_balance": product_body["price"] - released,
        "escrow_held": product_body["price"] - released,
    }
    assert client.get(stats_url, headers=auth(client, "regulator", "r-1")).get_json() == stats
    assert client.get(stats_url, headers=auth(client, "merchant", "m-other")).status_code == 404
    assert client.get(stats_url, headers=owner).status_code == 403

    refunded = client.post(
        f"/api/v1/cards/{card_id}/refund", json={"reason": "moving away"}, headers=owner
    ).get_json()
    assert refunded["status"] == "refunded"
    assert refunded["refund_amount"] == refund_amount
    assert refunded["rule"] == "on_request", "a confirmed spend or check-in ends cooling-off"
    card = client.get(f"/api/v1/cards/{card_id}", headers=owner).get_json()
    assert card["released_amount"] + card["refunded_amount"] == card["deposited"]
    assert card["escrow_held"] == 0
    stats = client.get(stats_url, headers=merchant).get_json()
    assert (stats["refund_amount"], stats["cards_refunded"], stats["open_cards"]) == (
        refund_amount,
        1,
        0,
    )
    assert stats["outstanding_balance"] == stats["escrow_held"] == 0
    assert stats["redemption_amount"] + stats["refund_amount"] == stats["issuance_amount"]

    settlements = f"/api/v1/merchants/{merchant_id}/settlements"
    assert client.get(settlements, headers=merchant).get_json() == {
        "items": [],
        "next_cursor": None,
    }, "released today is paid out tomorrow (T+1)"
    assert client.get(settlements, headers=auth(client, "merchant", "m-x")).status_code == 404
    assert client.get(settlements, headers=owner).status_code == 403

    statement = [
        json.loads(line)
        for f in (tmp_path / "bank").glob("*.jsonl")
        for line in f.read_text().splitlines()
    ]
    assert [(s["kind"], s["amount"]) for s in statement if s["account"] == card_id] == [
        ("deposit", product_body["price"]),
        ("refund", refund_amount),
    ]


def test_money_requests_are_validated(client):
    merchant_id = onboard(client)
    merchant = auth(client, "merchant", merchant_id)
    product = client.post(
        f"/api/v1/merchants/{merchant_id}/products", json=CASES["stored_value"][0], headers=merchant
    ).get_json()
    owner = auth(client, "consumer", "c-1")
    card_id = client.post(
        "/api/v1/cards", json={"product_id": product["product_id"]}, headers=owner
    ).get_json()["card_id"]
    url = f"/api/v1/cards/{card_id}/redemptions"
    assert client.post(url, json={"amount": 10.5}, headers=merchant).status_code == 400
    assert client.post(url, json={"amount": 1, "tip": 2}, headers=merchant).status_code == 400
    too_much = client.post(url, json={"amount": 120_001}, headers=merchant)
    assert too_much.status_code == 422
    assert too_much.get_json()["error"]["code"] == "insufficient_balance"
    rid = client.post(url, json={"amount": 100}, headers=merchant).get_json()["redemption_id"]
    assert client.post(f"/api/v1/redemptions/{rid}/reject", headers=owner).get_json() == {
        "status": "rejected"
    }
    late = client.post(f"/api/v1/redemptions/{rid}/confirm", headers=owner)
    assert late.status_code == 409
    assert (
        client.post("/api/v1/cards", json={"product_id": "p-nope"}, headers=owner).status_code
        == 404
    )
    assert client.get(f"/api/v1/cards/{card_id}", headers=owner).get_json()["released_amount"] == 0


def test_regulator_declares_a_default_and_every_open_card_is_refunded(client):
    merchant_id = onboard(client)
    merchant = auth(client, "merchant", merchant_id)
    product = client.post(
        f"/api/v1/merchants/{merchant_id}/products", json=CASES["count"][0], headers=merchant
    ).get_json()
    cards = []
    for i in range(12):
        owner = auth(client, "consumer", f"c-{i}")
        cards.append(
            (
                owner,
                client.post(
                    "/api/v1/cards", json={"product_id": product["product_id"]}, headers=owner
                ).get_json()["card_id"],
            )
        )
    url = f"/api/v1/merchants/{merchant_id}/default"
    body = {"reason": "the shop closed and the owner vanished"}
    for headers, status in [({}, 401), (merchant, 403), (auth(client, "operator", "o"), 403)]:
        assert client.post(url, json=body, headers=headers).status_code == status
    regulator = auth(client, "regulator", "reg-1")
    # Two regulators: the first proposes, the second confirms (maker-checker).
    proposed = client.post(url, json=body, headers=auth(client, "regulator", "reg-0"))
    assert proposed.status_code == 202, proposed.get_json()
    result = client.post(url, json=body, headers=regulator)
    assert result.status_code == 200, result.get_json()
    assert result.get_json() == {"cards_refunded": 12, "amount_refunded": 12 * 80_000}
    assert client.post(url, json=body, headers=regulator).get_json() == result.get_json()
    assert client.get(f"/api/v1/merchants/{merchant_id}").get_json()["status"] == "defaulted"
    for owner, card_id in cards:
        card = client.get(f"/api/v1/cards/{card_id}", headers=owner).get_json()
        assert (card["status"], card["refunded_amount"], card["escrow_held"]) == (
            "refunded",
            80_000,
            0,
        )
    refused = client.post(
        "/api/v1/cards",
        json={"product_id": product["product_id"]},
        headers=auth(client, "consumer", "c-new"),
    )
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "merchant_may_not_sell"


def test_listings_stop_sales_and_promotions_raise_the_bonus(client):
    merchant_id = onboard(client)
    merchant = auth(client, "merchant", merchant_id)
    regulator, owner = auth(client, "regulator", "r-1"), auth(client, "consumer", "c-promo")
    product = client.post(
        f"/api/v1/merchants/{merchant_id}/products", json=CASES["stored_value"][0], headers=merchant
    ).get_json()
    promotions = f"/api/v1/merchants/{merchant_id}/promotions"
    now = datetime.now(UTC)
    spring = {
        "product_id": product["product_id"],
        "name": "Spring",
        "bonus": 30_000,
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(),
    }
    created = client.post(promotions, json=spring, headers=merchant)
    assert created.status_code == 201, created.get_json()
    assert (
        client.post(promotions, json=spring | {"name": "Again"}, headers=merchant).status_code
        == 409
    )
    assert (
        client.post(
            promotions, json=spring | {"bonus": 30_001, "product_id": "p-none"}, headers=merchant
        ).status_code
        == 404
    )
    assert (
        client.post(promotions, json=spring | {"bonus": 1.5}, headers=merchant).status_code == 400
    )
    assert (
        client.post(
            promotions, json=spring | {"starts_at": "tomorrow"}, headers=merchant
        ).status_code
        == 400
    )
    listed = client.get(promotions).get_json()["items"]
    assert [p["promotion_id"] for p in listed] == [created.get_json()["promotion_id"]]

    card_id = client.post(
        "/api/v1/cards", json={"product_id": product["product_id"]}, headers=owner
    ).get_json()["card_id"]
    card = client.get(f"/api/v1/cards/{card_id}", headers=owner).get_json()
    assert card["balance"] == {"value": 130_000}, "bought during the promotion"

    flags = f"/api/v1/merchants/{merchant_id}/flags"
    listing = {"flag": "dishonest_debtor", "on": True, "source": "credit-china"}
    assert client.post(flags, json=listing, headers=merchant).status_code == 403
    flagged = client.post(flags, json=listing, headers=regulator)
    assert flagged.get_json()["flags"] == ["dishonest_debtor"]
    refused = client.post(
        "/api/v1/cards", json={"product_id": product["product_id"]}, headers=owner
    )
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "merchant_may_not_sell"
    assert (
        client.post(
            f"/api/v1/merchants/{merchant_id}/products", json=CASES["count"][0], headers=merchant
        ).status_code
        == 422
    )
    assert client.get(f"/api/v1/merchants/{merchant_id}").get_json()["flags"] == [
        "dishonest_debtor"
    ]
    lifted = client.post(
        flags, json=listing | {"on": False}, headers=auth(client, "operator", "op-1")
    )
    assert lifted.get_json()["flags"] == []
    assert (
        client.post(
            "/api/v1/cards", json={"product_id": product["product_id"]}, headers=owner
        ).status_code
        == 201
    )
    assert client.post(flags, json=listing | {"flag": "bad"}, headers=regulator).status_code == 400
