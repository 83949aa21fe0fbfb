"""A small city on the real platform for the regulator workbench's browser tests, made through
the public API: merchants in different industries with sold cards, one complaint surge that
turns a merchant red, one merchant proposed for default by a first regulator, and hundreds of
escalated complaints (each opens an alert in the queue).

The many complaints come from many consumers, a few each, so neither the per-consumer
complaint limit (3 per merchant in 30 days) nor the gateway's per-caller rate limit (5 an
hour) is reached; they are sent a few at a time in parallel to keep the seeding short."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tests.support.browser import HttpClient
from tests.support.gateway import auth
from tests.support.harness import wait_until
from tests.support.merchants import onboard

PRODUCT = {"type": "count", "name": "十次课", "price": 50_000, "uses": 10, "validity_days": 90}
PROPOSER = "reg-proposer"
WORKERS = 8


@dataclass
class City:
    tag: str
    merchants: dict[str, str] = field(default_factory=dict)  # role in the city -> id
    names: dict[str, str] = field(default_factory=dict)  # role in the city -> name
    complaints: list[str] = field(default_factory=list)


def _merchant_with_cards(platform, city: City, role: str, industry: str, buyers: list[str]):
    name = f"{role}{city.tag}"
    merchant_id = onboard(platform, name=name, industry=industry)
    city.merchants[role], city.names[role] = merchant_id, name
    headers = auth(platform, "merchant", merchant_id)
    made = platform.post(f"/api/v1/merchants/{merchant_id}/products", json=PRODUCT, headers=headers)
    assert made.status_code == 201, made.get_json()
    cards = {}
    for consumer in buyers:
        bought = platform.post(
            "/api/v1/cards",
            json={"product_id": made.get_json()["product_id"]},
            headers=auth(platform, "consumer", consumer),
        )
        assert bought.status_code == 201, bought.get_json()
        cards[consumer] = bought.get_json()["card_id"]
    return merchant_id, cards


def _open_cards(platform, merchant_id: str) -> int:
    answer = platform.get(f"/api/v1/merchants/{merchant_id}/health")
    return answer.get_json()["metrics"]["open_cards"] if answer.status_code == 200 else -1


def _complain(platform, consumer: str, merchant_id: str, card_id: str | None, escalate: bool):
    headers = auth(platform, "consumer", consumer)
    body = {"merchant_id": merchant_id, "category": "service_not_provided", "text": "课程停了"}
    if card_id:
        body["card_id"] = card_id
    filed = platform.post("/api/v1/complaints", json=body, headers=headers)
    assert filed.status_code == 201, filed.get_json()
    complaint_id = filed.get_json()["complaint_id"]
    if escalate:
        up = platform.post(f"/api/v1/complaints/{complaint_id}/escalate", headers=headers)
        assert up.status_code == 200, up.get_json()
    return complaint_id


def build_city(platform, escalated_consumers: int = 200) -> City:
    city = City(tag=uuid.uuid4().hex[:5])
    surge_buyers = [f"c-surge-{city.tag}-{i}" for i in range(6)]
    surge, cards = _merchant_with_cards(platform, city, "潮汐健身", "fitness", surge_buyers)
    _merchant_with_cards(
        platform, city, "明日教育", "education", [f"c-edu-{city.tag}-{i}" for i in range(3)]
    )
    for role, industry in (
        ("海味餐饮", "catering"),
        ("丽人美发", "beauty"),
        ("街角零售", "retail"),
    ):
        _merchant_with_cards(platform, city, role, industry, [f"c-{industry}-{city.tag}"])
    wait_until(
        lambda: _open_cards(platform, surge) == len(surge_buyers),
        timeout=30,
        what="the risk service to see the surge merchant's cards",
    )
    # The surge: five card holders complain within days -> red.
    for consumer in surge_buyers[:5]:
        city.complaints.append(_complain(platform, consumer, surge, cards[consumer], False))
    wait_until(
        lambda: platform.get(f"/api/v1/merchants/{surge}/health").get_json()["code"] == "red",
        timeout=30,
        what="the surge to turn the merchant red",
    )
    # A first regulator proposes the education merchant's default; the test confirms it.
    proposed = platform.post(
        f"/api/v1/merchants/{city.merchants['明日教育']}/default",
        json={"reason": "停业失联，无法继续提供课程"},
        headers=auth(platform, "regulator", PROPOSER),
    )
    assert proposed.status_code == 202, proposed.get_json()
    # Many consumers, three complaints each (one per merchant), each escalated.
    targets = [city.merchants[r] for r in ("海味餐饮", "丽人美发", "街角零售")]
    local = threading.local()

    def one(index: int) -> list[str]:
        if not hasattr(local, "client"):
            local.client = HttpClient(platform.base_url)
        consumer = f"c-many-{city.tag}-{index}"
        return [_complain(local.client, consumer, m, None, True) for m in targets]

    with ThreadPoolExecutor(WORKERS) as pool:
        for made in pool.map(one, range(escalated_consumers)):
            city.complaints.extend(made)
    return city
