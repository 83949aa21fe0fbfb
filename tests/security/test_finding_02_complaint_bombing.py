"""Finding 2: complaint bombing delisted a healthy merchant.

One consumer with no card at a merchant filed five complaints: the merchant turned red at once
(a public warning and an alert), and 31 days later it was delisted. Now only complaints from
distinct consumers with a relationship to the merchant (a paid card or a confirmed spend,
which the risk service learns from the escrow's events) count toward the complaint rate and
the surge; a complaint a regulator finds unfounded stops counting; and one consumer may file
only a few complaints against one merchant in a window. A complaint without a card is still
accepted and reaches the merchant and the regulator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.domain_errors import BusinessRuleViolation
from services.risk.application.replay import codes_and_alerts, replay
from services.risk.domain.complaints import recent_filings
from services.risk.domain.health_code import RiskRules, hard_flags
from services.risk.domain.indicators import MerchantFigures, compute
from tests.support.gateway import auth
from tests.support.harness import wait_until
from tests.support.risk_platform import complain, health, risk_platform, shop_with_customers

RULES = RiskRules.from_policy(load_policy().risk)
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
DUE_AT_ONCE = {"red_grace_days = 30": "red_grace_days = 0"}


# --- the rules alone -----------------------------------------------------------------------
def test_only_one_complaint_per_customer_counts_and_unfounded_ones_none():
    merchant = MerchantFigures(
        "m-1", first_seen=(NOW - timedelta(days=60)).isoformat(), open_cards=100
    )
    filed = [("stranger", 5), ("alice", 3), ("bob", 1), ("carol", 1)]
    for consumer, times in filed:
        for n in range(times):
            complaint_id = f"{consumer}-{n}"
            merchant.complaints_opened[complaint_id] = (NOW - timedelta(hours=n)).isoformat()
            merchant.complaint_consumers[complaint_id] = consumer
    merchant.unfounded_complaints.add("carol-0")
    customers = {"alice", "bob", "carol"}
    assert merchant.counted_complaints(NOW, 7, customers) == 2, "alice once, bob; not carol"
    indicators = compute(merchant, NOW, customers=customers)
    assert indicators.complaints_per_thousand_cards == 2 * 1000 // 100
    assert compute(merchant, NOW).complaints_per_thousand_cards == 0, "no customer, no count"
    assert hard_flags(indicators, set(), 2, RULES) == []
    assert [f["indicator"] for f in hard_flags(indicators, set(), 5, RULES)] == [
        "complaint_surge_per_thousand_cards"
    ]


def test_one_consumer_files_at_most_the_limit_against_one_merchant():
    limit, window = (
        RULES.complaint_limit_per_consumer_per_merchant,
        RULES.complaint_limit_window_days,
    )
    filed = []
    for n in range(limit):
        filed = [
            *recent_filings(filed, NOW + timedelta(hours=n), limit=limit, window_days=window),
            (NOW + timedelta(hours=n)).isoformat(),
        ]
    with pytest.raises(BusinessRuleViolation) as refused:
        recent_filings(filed, NOW + timedelta(days=1), limit=limit, window_days=window)
    assert refused.value.code == "complaint_limit_reached"
    later = NOW + timedelta(days=window, hours=1)
    assert len(recent_filings(filed, later, limit=limit, window_days=window)) < limit


# --- through the HTTP API and the real services --------------------------------------------
def test_a_stranger_cannot_bomb_a_healthy_merchant_into_red(tmp_path, amqp_uri):
    with risk_platform(tmp_path, amqp_uri, DUE_AT_ONCE) as (client, rpc):
        regulator = auth(client, "regulator", "r-zhang")
        merchant_id, cards = shop_with_customers(client, 20)
        merchant = auth(client, "merchant", merchant_id)
        assert health(client, merchant_id)["code"] == "green"

        stranger = auth(client, "consumer", "stranger")
        answers = [complain(client, stranger, merchant_id, text=f"bomb {n}") for n in range(5)]
        limit = load_policy().risk["complaint_limit_per_consumer_per_merchant"]
        assert [a.status_code for a in answers] == [201] * limit + [422] * (5 - limit)
        assert answers[-1].get_json()["error"]["code"] == "complaint_limit_reached"
        filed = [a.get_json()["complaint_id"] for a in answers[:limit]]

        # Accepted without a card, and routed: the merchant and the regulator both see them.
        for reader in (merchant, regulator):
            listed = client.get(
                f"/api/v1/merchants/{merchant_id}/complaints", headers=reader
            ).get_json()["items"]
            assert [c["complaint_id"] for c in listed] == filed
        assert (
            client.get(f"/api/v1/complaints/{filed[0]}", headers=regulator).get_json()["text"]
            == "bomb 0"
        )

        code = health(client, merchant_id)
        assert code["code"] == "green", code["reasons"]
        assert code["metrics"]["complaints_per_thousand_cards"] == 0
        public = client.get(f"/api/v1/merchants/{merchant_id}").get_json()
        assert public["health_code"] == "green" and public["public_warning"] is None
        alerts = client.get("/api/v1/alerts", headers=regulator).get_json()["items"]
        assert [a for a in alerts if a["merchant_id"] == merchant_id] == []
        assert rpc.risk.sweep()["delisted"] == 0, "the deadline is due at once: none was set"
        assert client.get(f"/api/v1/merchants/{merchant_id}").get_json()["status"] == "active"

        # A customer's repeated complaints count once: a soft breach (yellow), not a surge.
        customer, card_id = cards["c-0"]
        for n in range(limit):
            assert complain(client, customer, merchant_id, card_id, f"again {n}").status_code == 201
        code = wait_until(
            lambda: (
                (h := health(client, merchant_id))["metrics"]["complaints_per_thousand_cards"]
                == 1000 // 20
                and h
            ),
            what="the customer counted",
        )
        assert code["code"] == "yellow", code["reasons"]


def test_customers_still_surge_and_an_unfounded_complaint_stops_counting(tmp_path, amqp_uri):
    with risk_platform(tmp_path, amqp_uri) as (client, _):
        regulator = auth(client, "regulator", "r-zhang")
        merchant_id, cards = shop_with_customers(client, 20)
        rate = lambda: health(client, merchant_id)["metrics"][  # noqa: E731
            "complaints_per_thousand_cards"
        ]
        filed = {}
        for i in range(4):
            consumer, card_id = cards[f"c-{i}"]
            answer = complain(client, consumer, merchant_id, card_id)
            assert answer.status_code == 201, answer.get_json()
            filed[f"c-{i}"] = answer.get_json()["complaint_id"]
        wait_until(lambda: rate() == 4 * 1000 // 20, what="four customers counted")
        assert health(client, merchant_id)["code"] == "yellow"

        url = f"/api/v1/complaints/{filed['c-0']}/unfounded"
        owner, _ = cards["c-0"]
        assert client.post(url, json={"note": "x"}, headers=owner).status_code == 403
        assert client.post(url, json={}, headers=regulator).status_code == 400
        assert (
            client.post(
                "/api/v1/complaints/cp-nope/unfounded", json={"note": "x"}, headers=regulator
            ).status_code
            == 404
        )
        ruled = client.post(
            url, json={"note": "the class was held; CCTV checked"}, headers=regulator
        )
        assert ruled.status_code == 200, ruled.get_json()
        finding = ruled.get_json()
        assert finding["unfounded"] is True and finding["status"] == "resolved"
        assert finding["ruled_by"] == "regulator:r-zhang" and finding["ruled_at"]
        again = client.post(url, json={"note": "a second look"}, headers=regulator).get_json()
        assert again == finding, "a repeat changes nothing"
        seen = client.get(f"/api/v1/complaints/{filed['c-0']}", headers=owner).get_json()
        assert seen["unfounded"] is True and seen["status"] == "resolved"
        assert rate() == 3 * 1000 // 20

        # The fifth complaint makes four that count: no surge. A sixth customer makes five.
        consumer, card_id = cards["c-4"]
        assert complain(client, consumer, merchant_id, card_id).status_code == 201
        wait_until(lambda: rate() == 4 * 1000 // 20, what="the fifth complaint")
        assert health(client, merchant_id)["code"] == "yellow"
        consumer, card_id = cards["c-5"]
        assert complain(client, consumer, merchant_id, card_id).status_code == 201
        code = wait_until(
            lambda: (h := health(client, merchant_id))["code"] == "red" and h,
            what="five customers' complaints to make a surge",
        )
        assert "complaint_surge_per_thousand_cards" in [r["indicator"] for r in code["reasons"]]

        # The events alone decide the same: a replay from position 0 agrees with the service.
        stores = {
            n: SqliteEventStore(tmp_path / f"{n}.db")
            for n in ("merchant", "escrow", "risk", "fresh")
        }
        try:
            replay(
                [stores["merchant"], stores["escrow"]],
                stores["risk"],
                stores["fresh"],
                rules=RiskRules.from_policy(load_policy(tmp_path / "policy.toml").risk),
            )
            assert codes_and_alerts(stores["fresh"]) == codes_and_alerts(stores["risk"])
        finally:
            for store in stores.values():
                store.close()
