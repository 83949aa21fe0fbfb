"""A merchant with products, sold cards and a confirmed spend on the real platform, made
through the public API, for the merchant console's browser tests."""

from __future__ import annotations

from dataclasses import dataclass

from tests.support.gateway import auth
from tests.support.merchants import onboard

STORED_VALUE = {
    "type": "stored_value",
    "name": "储值卡1000元",
    "price": 100_000,
    "bonus": 10_000,
    "validity_days": 365,
}
COUNT = {"type": "count", "name": "私教10次", "price": 300_000, "uses": 10, "validity_days": 180}


@dataclass
class Shop:
    merchant_id: str
    consumer: str
    products: dict[str, str]
    cards: dict[str, dict]

    def merchant_headers(self, platform) -> dict[str, str]:
        return auth(platform, "merchant", self.merchant_id)

    def consumer_headers(self, platform) -> dict[str, str]:
        return auth(platform, "consumer", self.consumer)


def open_shop(platform, name: str, consumer: str) -> Shop:
    """A fitness shop selling a stored-value and a count product, one card of each bought by
    `consumer` (the demo bank pays at once) and one spend of 100 元 confirmed."""
    merchant_id = onboard(platform, name=name, industry="fitness")
    merchant = auth(platform, "merchant", merchant_id)
    buyer = auth(platform, "consumer", consumer)
    products, cards = {}, {}
    for key, body in (("stored_value", STORED_VALUE), ("count", COUNT)):
        made = platform.post(
            f"/api/v1/merchants/{merchant_id}/products", json=body, headers=merchant
        )
        assert made.status_code == 201, made.get_json()
        products[key] = made.get_json()["product_id"]
        bought = platform.post("/api/v1/cards", json={"product_id": products[key]}, headers=buyer)
        assert bought.status_code == 201, bought.get_json()
        card_id = bought.get_json()["card_id"]
        cards[key] = platform.get(f"/api/v1/cards/{card_id}", headers=buyer).get_json()
        assert cards[key]["status"] == "active", cards[key]
    spend = platform.post(
        f"/api/v1/cards/{cards['stored_value']['card_id']}/redemptions",
        json={"amount": 10_000},
        headers=merchant,
    )
    assert spend.status_code == 201, spend.get_json()
    confirmed = platform.post(
        f"/api/v1/redemptions/{spend.get_json()['redemption_id']}/confirm", headers=buyer
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    return Shop(merchant_id, consumer, products, cards)
