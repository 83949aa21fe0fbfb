"""Finding 20: a defaulted merchant stayed green.

`make demo DEMO_ARGS="--merchants 20 --consumers 1500 --days 40"` ended with "Golden Gym:
green, defaulted": the regulator declared the default before any indicator turned, and the
risk service did not read the merchant's status at all. A default, a delisting and the
失信/经营异常 listings are hard flags now: red at once, with the reason, whatever the
indicators say.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policy import load_policy
from services.risk.application.observations import observe
from services.risk.domain.health_code import (
    CodeState,
    RiskRules,
    deadline_applies,
    evaluate,
    hard_flags,
    soft_breaches,
)
from services.risk.domain.indicators import MerchantFigures, compute
from tests.support.gateway import auth
from tests.support.harness import wait_until
from tests.support.risk_platform import health, risk_platform, shop_with_customers

RULES = RiskRules.from_policy(load_policy().risk)
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def healthy() -> MerchantFigures:
    """Sixty days of steady sales and visits: every indicator within the green limits."""
    merchant = MerchantFigures("m-1", first_seen=(NOW - timedelta(days=60)).isoformat())
    for day in range(60):
        at = (NOW - timedelta(days=day, hours=1)).isoformat()
        observe(merchant, "escrow.DepositConfirmed.v1", {"amount": 10_000, "upfront_amount": 0}, at)
        observe(merchant, "escrow.RedemptionConfirmed.v1", {"released_amount": 5_000}, at)
    return merchant


@pytest.mark.parametrize(
    "event, data, reason",
    [
        ("merchant.MerchantStatusChanged.v1", {"status": "defaulted"}, "status:defaulted"),
        ("merchant.MerchantStatusChanged.v1", {"status": "delisted"}, "status:delisted"),
        (
            "merchant.MerchantFlagSet.v1",
            {"flag": "dishonest_debtor", "on": True},
            "flag:dishonest_debtor",
        ),
        (
            "merchant.MerchantFlagSet.v1",
            {"flag": "abnormal_operations", "on": True},
            "flag:abnormal_operations",
        ),
    ],
)
def test_a_hard_status_or_listing_is_red_at_once_whatever_the_indicators(event, data, reason):
    merchant = healthy()
    indicators = compute(merchant, NOW)
    green = evaluate(
        CodeState(),
        soft=soft_breaches(indicators, RULES),
        hard=hard_flags(indicators, merchant.flags, 0, RULES, status=merchant.status),
        as_of=NOW,
        rules=RULES,
    )
    assert green.code == "green", green.reasons
    observe(merchant, event, data, NOW.isoformat())
    indicators = compute(merchant, NOW)
    assert soft_breaches(indicators, RULES) == [], "the figures are as green as before"
    hard = hard_flags(indicators, merchant.flags, 0, RULES, status=merchant.status)
    assert [f["indicator"] for f in hard] == [reason]
    red = evaluate(green, soft=[], hard=hard, as_of=NOW + timedelta(minutes=1), rules=RULES)
    assert red.code == "red" and [r["indicator"] for r in red.reasons] == [reason]
    # Nothing is left to delist after a default or a delisting; a listing gets its deadline.
    assert deadline_applies(red.reasons) is reason.startswith("flag:")


def test_a_default_is_final_for_the_code_whatever_order_the_events_arrive_in():
    merchant = healthy()
    for status in ("defaulted", "delisted", "active"):
        observe(merchant, "merchant.MerchantStatusChanged.v1", {"status": status}, NOW.isoformat())
    assert merchant.status == "defaulted"
    for status in ("delisted", "active"):
        merchant = healthy()
        observe(merchant, "merchant.MerchantStatusChanged.v1", {"status": status}, NOW.isoformat())
        assert merchant.status == status


def test_a_green_merchant_declared_defaulted_turns_red_with_the_reason(tmp_path, amqp_uri):
    with risk_platform(tmp_path, amqp_uri) as (client, rpc):
        regulator = auth(client, "regulator", "r-zhang")
        merchant_id, _ = shop_with_customers(client, 3)
        listed_id, _ = shop_with_customers(client, 3, prefix="d")
        assert health(client, merchant_id)["code"] == "green"
        assert health(client, listed_id)["code"] == "green"

        # A default takes two regulators: one proposes it, another confirms it.
        proposed = client.post(
            f"/api/v1/merchants/{merchant_id}/default",
            json={"reason": "the owner absconded"},
            headers=auth(client, "regulator", "r-li"),
        )
        assert proposed.status_code == 202, proposed.get_json()
        declared = client.post(
            f"/api/v1/merchants/{merchant_id}/default",
            json={"reason": "the owner absconded"},
            headers=regulator,
        )
        assert declared.status_code == 200, declared.get_json()
        assert declared.get_json()["cards_refunded"] == 3
        flagged = client.post(
            f"/api/v1/merchants/{listed_id}/flags",
            json={"flag": "dishonest_debtor", "on": True, "source": "credit-china"},
            headers=regulator,
        )
        assert flagged.status_code == 200, flagged.get_json()

        for shop, reason, status in (
            (merchant_id, "status:defaulted", "defaulted"),
            (listed_id, "flag:dishonest_debtor", "active"),
        ):
            code = wait_until(
                lambda s=shop: (h := health(client, s))["code"] == "red" and h,
                timeout=60,
                what=f"{shop} to turn red",
            )
            assert reason in [r["indicator"] for r in code["reasons"]]
            public = client.get(f"/api/v1/merchants/{shop}").get_json()
            assert public["status"] == status and public["health_code"] == "red"
            assert reason in public["public_warning"]
            alerts = client.get("/api/v1/alerts", headers=regulator).get_json()["items"]
            red = [a for a in alerts if a["merchant_id"] == shop and a["code"] == "red"]
            assert len(red) == 1
            # A defaulted merchant has nothing left to delist: its alert carries no deadline.
            assert (red[0]["improve_by"] is None) is (status == "defaulted")

        # Refunding every card leaves the figures clean; the default still keeps it red.
        rpc.risk.sweep()
        code = health(client, merchant_id)
        assert code["metrics"]["open_cards"] == 0 and code["code"] == "red"
