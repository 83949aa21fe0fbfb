"""Ratings (好差评) of confirmed spends and a consumer's own complaints, through the gateway
and real merchant, escrow and risk services, the risk service learning the confirmed spends
from the escrow's events through its relay."""

from __future__ import annotations

import uuid

import pytest

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from privacy import Vault
from services.gateway.app import create_app
from services.risk.application import ratings
from services.risk.application.replay import rating_views, replay
from services.risk.domain.health_code import RiskRules
from tests.support.gateway import auth, gateway_settings
from tests.support.harness import start_relay, start_service, stop, store_url, wait_until
from tests.support.merchants import onboard

pytestmark = pytest.mark.broker

SV = {"type": "stored_value", "name": "100 元卡", "price": 10_000, "bonus": 0, "validity_days": 365}
PRAISE = "师傅手艺很好，环境干净"


class Platform:
    def __init__(self, client, workdir):
        self.client, self.workdir = client, workdir
        self.shop = onboard(client, name="好评理发店")
        self.merchant = auth(client, "merchant", self.shop)
        made = client.post(
            f"/api/v1/merchants/{self.shop}/products", json=SV, headers=self.merchant
        )
        self.product = made.get_json()["product_id"]

    def spend(self, consumer: str) -> str:
        """A spend `consumer` confirmed at the shop; its redemption id."""
        headers = auth(self.client, "consumer", consumer)
        card = self.client.post("/api/v1/cards", json={"product_id": self.product}, headers=headers)
        assert card.status_code == 201, card.get_json()
        hold = self.client.post(
            f"/api/v1/cards/{card.get_json()['card_id']}/redemptions",
            json={"amount": 1_000},
            headers=self.merchant,
        ).get_json()
        confirmed = self.client.post(
            f"/api/v1/redemptions/{hold['redemption_id']}/confirm", headers=headers
        )
        assert confirmed.status_code == 200, confirmed.get_json()
        return hold["redemption_id"]

    def rate(self, consumer: str, redemption_id: str, body: dict, **headers):
        return self.client.post(
            f"/api/v1/redemptions/{redemption_id}/rating",
            json=body,
            headers={**auth(self.client, "consumer", consumer), **headers},
        )

    def rate_once_learnt(self, consumer: str, redemption_id: str, body: dict):
        """The page's way: retried while the spend is not learnt yet (409
        spend_not_confirmed)."""

        def attempt():
            answer = self.rate(consumer, redemption_id, body)
            if answer.status_code == 409:
                assert answer.get_json()["error"]["code"] == "spend_not_confirmed"
                return None
            return answer

        return wait_until(attempt, timeout=30, what="the risk service to learn the spend")


@pytest.fixture(scope="module")
def platform(tmp_path_factory, rabbit_node):
    workdir = tmp_path_factory.mktemp("ratings")
    vhost = f"t-{uuid.uuid4().hex[:12]}"
    amqp_uri = rabbit_node.add_vhost(vhost)
    processes = [start_service(name, workdir, amqp_uri) for name in ("merchant", "escrow", "risk")]
    processes.append(start_relay("escrow", store_url(workdir, "escrow"), amqp_uri, workdir))
    app = create_app(gateway_settings(workdir, amqp_uri))
    client = app.test_client()
    try:
        regulator = auth(client, "regulator", "r-probe")
        consumer = auth(client, "consumer", "c-probe")
        wait_until(
            lambda: (
                client.get("/api/v1/merchants").status_code == 200
                and client.get("/api/v1/consumers/me/cards", headers=consumer).status_code == 200
                and client.get("/api/v1/alerts", headers=regulator).status_code == 200
            ),
            timeout=120,
            what="the merchant, escrow and risk services",
        )
        yield Platform(client, workdir)
    finally:
        app.config["RPC_POOL"].close()
        for process in processes:
            stop(process)
        rabbit_node.ctl("delete_vhost", vhost)


def test_a_confirmed_spend_is_rated_once_by_its_consumer(platform):
    client, shop = platform.client, platform.shop
    unknown = platform.rate("c-rater", "r-never-confirmed", {"stars": 5})
    assert unknown.status_code == 409
    assert unknown.get_json()["error"]["code"] == "spend_not_confirmed"

    spend = platform.spend("c-rater")
    rated = platform.rate_once_learnt("c-rater", spend, {"stars": 4, "text": PRAISE})
    assert rated.status_code == 201, rated.get_json()
    first = rated.get_json()
    assert first["stars"] == 4 and first["rating_id"]

    same = platform.rate("c-rater", spend, {"stars": 4, "text": PRAISE})
    assert same.status_code == 201 and same.get_json() == first, "a repeat answers the first"
    other = platform.rate("c-rater", spend, {"stars": 1, "text": "改主意了"})
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "already_rated"
    key = {"Idempotency-Key": "rate-replay"}
    replayed = [platform.rate("c-rater", spend, {"stars": 4, "text": PRAISE}, **key) for _ in "ab"]
    assert [r.get_json() for r in replayed] == [first, first]

    someone_else = platform.rate("c-intruder", spend, {"stars": 1})
    assert someone_else.status_code == 404, "another consumer's spend is unknown to them"
    as_merchant = client.post(
        f"/api/v1/redemptions/{spend}/rating", json={"stars": 5}, headers=platform.merchant
    )
    assert as_merchant.status_code == 403
    anonymous = client.post(f"/api/v1/redemptions/{spend}/rating", json={"stars": 5})
    assert anonymous.status_code == 401

    ratings = client.get(f"/api/v1/merchants/{shop}/ratings").get_json()  # public
    assert (ratings["average_tenths"], ratings["count"]) == (40, 1)
    assert [(r["stars"], r["text"]) for r in ratings["items"]] == [(4, PRAISE)]
    assert "c-rater" not in str(ratings) and spend not in str(ratings), "no one's identity"

    second = platform.spend("c-second")
    assert platform.rate_once_learnt("c-second", second, {"stars": 5}).status_code == 201
    ratings = client.get(f"/api/v1/merchants/{shop}/ratings").get_json()
    assert (ratings["average_tenths"], ratings["count"]) == (45, 2)
    assert [r["stars"] for r in ratings["items"]] == [5, 4], "newest first"
    assert ratings["items"][0]["text"] == ""
    page = client.get(f"/api/v1/merchants/{shop}/ratings?limit=1").get_json()
    rest = client.get(f"/api/v1/merchants/{shop}/ratings?cursor={page['next_cursor']}").get_json()
    assert [r["stars"] for r in page["items"] + rest["items"]] == [5, 4]
    assert rest["next_cursor"] is None

    card = client.get(f"/api/v1/merchants/{shop}").get_json()
    assert card["rating"] == {"average_tenths": 45, "count": 2}
    assert client.get("/api/v1/merchants/m-nope/ratings").status_code == 404

    assert PRAISE.encode() not in (platform.workdir / "risk.db").read_bytes()
    assert PRAISE not in (platform.workdir / "service:RiskService.log").read_text()


def test_a_replay_rebuilds_the_confirmed_spends_and_the_rating_views_exactly(platform, tmp_path):
    client, shop = platform.client, platform.shop
    for consumer, body in (("c-replay-1", {"stars": 2, "text": "等了很久"}), ("c-replay-2", {})):
        spend = platform.spend(consumer)
        if body:
            assert platform.rate_once_learnt(consumer, spend, body).status_code == 201
    platform.spend("c-replay-3")  # confirmed, not rated
    stores = {
        name: SqliteEventStore(platform.workdir / f"{name}.db")
        for name in ("merchant", "escrow", "risk")
    }
    fresh = SqliteEventStore(tmp_path / "fresh.db")
    vault = Vault(platform.workdir / "risk-vault.db")
    try:
        confirmed = {
            r.data["redemption_id"]
            for r in stores["escrow"].read_all(0, 100_000)
            if r.type == ratings.CONFIRMED
        }
        live = wait_until(
            lambda: (
                (views := rating_views(stores["risk"]))
                and {key for key, _ in views[ratings.SPENDS]} == confirmed
                and views
            ),
            timeout=30,
            what="the risk service to learn every confirmed spend",
        )
        assert live[ratings.BY_MERCHANT] and live[ratings.TOTALS], "ratings were recorded"

        replay(
            [stores["merchant"], stores["escrow"]],
            stores["risk"],
            fresh,
            rules=RiskRules.from_policy(load_policy().risk),
        )
        assert rating_views(fresh) == live

        served = client.get(f"/api/v1/merchants/{shop}/ratings").get_json()
        rebuilt = ratings.merchant_ratings(shop, store=fresh, vault=vault)
        assert {k: rebuilt[k] for k in ("average_tenths", "count", "items")} == {
            k: served[k] for k in ("average_tenths", "count", "items")
        }
        assert "等了很久" in [item["text"] for item in rebuilt["items"]]
    finally:
        vault.close()
        for store in (*stores.values(), fresh):
            store.close()


@pytest.mark.parametrize(
    "body",
    [
        {"stars": 0},
        {"stars": 6},
        {"stars": 4.0},
        {"stars": "5"},
        {},
        {"stars": 3, "text": "长" * 201},
        {"stars": 3, "by": "me"},
    ],
)
def test_bad_ratings_are_400_and_rate_nothing(platform, body):
    spend = platform.spend("c-bad")
    before = platform.client.get(f"/api/v1/merchants/{platform.shop}/ratings").get_json()
    answer = platform.rate("c-bad", spend, body)
    assert answer.status_code == 400, answer.get_json()
    after = platform.client.get(f"/api/v1/merchants/{platform.shop}/ratings").get_json()
    assert after["count"] == before["count"]


def test_the_consumer_sees_their_own_complaints_with_the_response_and_next_steps(platform):
    client, shop = platform.client, platform.shop
    me, other = auth(client, "consumer", "c-complains"), auth(client, "consumer", "c-quiet")

    def file(category, text):
        answer = client.post(
            "/api/v1/complaints",
            json={"merchant_id": shop, "category": category, "text": text},
            headers=me,
        )
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["complaint_id"]

    older = file("refused_refund", "不给退款")
    newer = file("misleading_sale", "宣传与实际不符")
    answered = client.post(
        f"/api/v1/complaints/{older}/response",
        json={"response": "已联系您处理"},
        headers=platform.merchant,
    )
    assert answered.status_code == 200
    escalated = client.post(f"/api/v1/complaints/{newer}/escalate", headers=me)
    assert escalated.status_code == 200

    mine = client.get("/api/v1/consumers/me/complaints", headers=me)
    assert mine.status_code == 200
    items = mine.get_json()["items"]
    assert [c["complaint_id"] for c in items] == [newer, older], "newest first"
    assert items[1]["text"] == "不给退款" and items[1]["response"] == "已联系您处理"
    assert items[1]["status"] == "open" and items[1]["next_actions"] == ["resolve", "escalate"]
    assert items[0]["status"] == "escalated" and items[0]["next_actions"] == ["resolve"]
    assert items[0]["category"] == "misleading_sale"

    client.post(f"/api/v1/complaints/{older}/resolve", headers=me)
    first = client.get("/api/v1/consumers/me/complaints?limit=1", headers=me).get_json()
    assert [c["complaint_id"] for c in first["items"]] == [newer]
    rest = client.get(
        f"/api/v1/consumers/me/complaints?cursor={first['next_cursor']}", headers=me
    ).get_json()
    assert [(c["complaint_id"], c["next_actions"]) for c in rest["items"]] == [(older, [])]

    assert client.get("/api/v1/consumers/me/complaints", headers=other).get_json() == {
        "items": [],
        "next_cursor": None,
    }
    stolen_cursor = client.get(
        f"/api/v1/consumers/me/complaints?cursor={first['next_cursor']}", headers=other
    )
    assert stolen_cursor.status_code == 400, "a cursor is its own consumer's"
    assert client.get("/api/v1/consumers/me/complaints").status_code == 401
    assert (
        client.get("/api/v1/consumers/me/complaints", headers=platform.merchant).status_code == 403
    )


@pytest.mark.parametrize("category", ["rude_staff", "QUALITY", ""])
def test_complaint_categories_are_the_contracts_six(platform, category):
    me = auth(platform.client, "consumer", "c-categories")
    answer = platform.client.post(
        "/api/v1/complaints",
        json={"merchant_id": platform.shop, "category": category, "text": "x"},
        headers=me,
    )
    assert answer.status_code == 400
    assert (
        platform.client.get("/api/v1/consumers/me/complaints", headers=me).get_json()["items"] == []
    )
