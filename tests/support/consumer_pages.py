"""The consumer pages' tests' setting: a merchant with one product of each card type, cards
bought through the API, spends requested as its counter would, and a page opened once its
script has drawn it (`data-state=loaded`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tests.support.browser import PHONE
from tests.support.gateway import auth
from tests.support.harness import wait_until
from tests.support.merchants import onboard

PRODUCTS = {
    "stored_value": {"name": "储值卡", "price": 100000, "bonus": 10000, "validity_days": 365},
    "count": {"name": "十次卡", "price": 50000, "uses": 10, "validity_days": 180},
    "period": {"name": "月卡", "price": 30000, "period_days": 30},
}


@dataclass
class Shop:
    merchant_id: str
    name: str
    products: dict[str, str]  # card type -> product id
    merchant_auth: dict[str, str]


def open_shop(platform, industry: str = "fitness") -> Shop:
    name = f"测试健身{uuid.uuid4().hex[:6]}"
    merchant_id = onboard(platform, name=name, industry=industry)
    merchant_auth = auth(platform, "merchant", merchant_id)
    products = {}
    for card_type, body in PRODUCTS.items():
        made = platform.post(
            f"/api/v1/merchants/{merchant_id}/products",
            json={"type": card_type, **body},
            headers=merchant_auth,
        )
        assert made.status_code == 201, made.get_json()
        products[card_type] = made.get_json()["product_id"]
    return Shop(merchant_id, name, products, merchant_auth)


def new_consumer() -> str:
    return f"c-{uuid.uuid4().hex[:8]}"


def buy(platform, consumer: str, product_id: str) -> str:
    """A card bought through the API (the demo bank confirms at once); its id."""
    headers = auth(platform, "consumer", consumer)
    bought = platform.post("/api/v1/cards", json={"product_id": product_id}, headers=headers)
    assert bought.status_code == 201, bought.get_json()
    card_id = bought.get_json()["card_id"]
    wait_until(
        lambda: (
            platform.get(f"/api/v1/cards/{card_id}", headers=headers).get_json()["status"]
            == "active"
        ),
        timeout=30,
        what="the card's payment",
    )
    return card_id


def request_spend(platform, shop: Shop, card_id: str, body: dict) -> str:
    made = platform.post(
        f"/api/v1/cards/{card_id}/redemptions", json=body, headers=shop.merchant_auth
    )
    assert made.status_code == 201, made.get_json()
    return made.get_json()["redemption_id"]


def card_of(platform, consumer: str, card_id: str) -> dict:
    return platform.get(
        f"/api/v1/cards/{card_id}", headers=auth(platform, "consumer", consumer)
    ).get_json()


def open_page(context, path: str, ready: str):
    """A new tab on `path`, once the element `ready` says it has loaded."""
    page = context.new_page()
    page.goto(path)
    page.wait_for_selector(f"{ready}[data-state=loaded]", state="attached")
    return page


def fits_the_phone(page) -> bool:
    """Nothing wider than the 375 px screen: no sideways scrolling. (Not innerWidth: a mobile
    browser widens its layout viewport to fit content that overflows.)"""
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
