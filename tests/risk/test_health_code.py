"""The risk domain alone: every indicator, every threshold on both sides, and hysteresis."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from policy import load_policy
from services.risk.domain.health_code import (
    CodeState,
    RiskRules,
    evaluate,
    hard_flags,
    soft_breaches,
)
from services.risk.domain.indicators import MerchantFigures, compute

RULES = RiskRules.from_policy(load_policy().risk)
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def figures(**kwargs) -> MerchantFigures:
    return MerchantFigures("m-1", **{"first_seen": at(200), "last_redemption": at(1), **kwargs})


def test_windows_use_event_time_at_the_day_boundary():
    merchant = figures()
    merchant.add(at(29), "issued_amount", 100)
    merchant.add(at(30), "issued_amount", 10)
    merchant.add(at(89), "issued_amount", 1)
    merchant.add(at(90), "issued_amount", 1000)
    ind = compute(merchant, NOW)
    assert (ind.issued_30, ind.issued_90) == (100, 111)


@pytest.mark.parametrize(
    "short, long_, first_seen, expected",
    [
        (200, 300, 200, 200),  # 90 days observed: 200 over an average of 100
        (201, 300, 200, 201),
        (100, 100, 10, 100),  # a young merchant is its own baseline: no spike
        (0, 300, 200, 0),
    ],
)
def test_issuance_spike(short, long_, first_seen, expected):
    merchant = MerchantFigures("m-1", first_seen=at(first_seen))
    merchant.add(at(1), "issued_amount", short)
    if long_ > short:
        merchant.add(at(60), "issued_amount", long_ - short)
    merchant.first_seen = at(first_seen)
    assert compute(merchant, NOW).spike_percent == expected


def test_liability_coverage_and_dormancy():
    merchant = figures(deposited=1_000_000, released=100_000, refunded=0, upfront=0)
    merchant.add(at(10), "redeemed_amount", 150_000)  # 50,000 a month over 90 days
    ind = compute(merchant, NOW)
    assert ind.outstanding == 900_000 and ind.liability_months_x100 == 1800
    assert ind.coverage_percent == 100 and ind.dormancy_days == 1
    partial = figures(deposited=1_000_000, upfront=400_000, released=0)
    assert compute(partial, NOW).coverage_percent == 60
    assert compute(partial, NOW).liability_months_x100 is None, "owed, nothing redeemed"
    quiet = figures(deposited=10, last_redemption=None)
    assert compute(quiet, NOW).dormancy_days == 200
    settled = figures(deposited=10, refunded=10, last_redemption=None)
    ind = compute(settled, NOW)
    assert (ind.dormancy_days, ind.coverage_percent, ind.liability_months_x100) == (0, None, 0)


def test_refund_and_complaint_rates():
    merchant = figures(open_cards=2000)
    merchant.add(at(5), "issued_cards", 200)
    merchant.add(at(5), "refunded_cards", 10)
    merchant.complaints_opened = {"k1": at(3), "k2": at(3), "k3": at(3), "old": at(100)}
    merchant.complaint_consumers = {"k1": "c-1", "k2": "c-2", "k3": "c-3", "old": "c-4"}
    merchant.open_complaints = {"k1", "old"}
    ind = compute(merchant, NOW, customers={"c-1", "c-2", "c-3", "c-4"})
    assert ind.refund_rate_per_mille == 50
    assert ind.complaints_per_thousand_cards == 1
    assert ind.unresolved_complaints_percent == 33, "the 100-day-old one is out of the window"


def indicators(**changes):
    base = compute(figures(deposited=100, released=0), NOW)
    return replace(
        base,
        **{
            "liability_months_x100": 100,
            "coverage_percent": 100,
            "dormancy_days": 1,
            "spike_percent": 100,
            "refund_rate_per_mille": 0,
            "complaints_per_thousand_cards": 0,
            "open_cards": 1000,
            **changes,
        },
    )


@pytest.mark.parametrize(
    "changes, breached",
    [
        ({}, []),
        ({"coverage_percent": 99}, ["escrow_coverage_percent"]),
        ({"coverage_percent": None}, []),
        ({"liability_months_x100": 600}, []),
        ({"liability_months_x100": 601}, ["months_of_liability_x100"]),
        ({"liability_months_x100": None}, ["months_of_liability_x100"]),
        ({"liability_months_x100": None, "observed_days": 29}, []),
        ({"liability_months_x100": None, "observed_days": 30}, ["months_of_liability_x100"]),
        ({"liability_months_x100": 2400, "observed_days": 29}, []),  # a young shop's first sales
        ({"liability_months_x100": 601, "observed_days": 30}, ["months_of_liability_x100"]),
        ({"spike_percent": 200}, []),
        ({"spike_percent": 201}, ["issuance_spike_percent"]),
        ({"refund_rate_per_mille": 49}, []),
        ({"refund_rate_per_mille": 50}, ["refund_rate_per_mille"]),
        ({"complaints_per_thousand_cards": 0}, []),
        ({"complaints_per_thousand_cards": 1}, ["complaint_rate_per_thousand_cards"]),
    ],
)
def test_soft_thresholds(changes, breached):
    found = soft_breaches(indicators(**changes), RULES)
    assert [b["indicator"] for b in found] == breached
    assert all({"indicator", "value", "threshold"} == set(b) for b in found)


@pytest.mark.parametrize(
    "changes, flags, recent, hard",
    [
        ({}, set(), 0, []),
        ({"dormancy_days": 30}, set(), 0, []),
        ({"dormancy_days": 31}, set(), 0, ["dormancy_days"]),
        ({"dormancy_days": 31, "outstanding": 0}, set(), 0, []),
        ({"coverage_percent": 50}, set(), 0, []),
        ({"coverage_percent": 49}, set(), 0, ["escrow_coverage_percent"]),
        ({}, {"dishonest_debtor"}, 0, ["flag:dishonest_debtor"]),
        ({}, {"closure_notice"}, 0, ["flag:closure_notice"]),
        ({"open_cards": 500}, set(), 4, []),  # 8 per 1,000 but only 4
        ({"open_cards": 500}, set(), 5, ["complaint_surge_per_thousand_cards"]),
        ({"open_cards": 501}, set(), 5, []),  # 9 per 1,000
    ],
)
def test_hard_flags(changes, flags, recent, hard):
    found = hard_flags(indicators(**changes), flags, recent, RULES)
    assert [f["indicator"] for f in found] == hard


ONE, TWO = [{"indicator": "a"}], [{"indicator": "a"}, {"indicator": "b"}]


def run(days_and_soft, state=None, hard_on=()):
    state = state or CodeState()
    codes = []
    for day, soft in days_and_soft:
        state = evaluate(
            state,
            soft=soft,
            hard=[{"indicator": "x"}] if day in hard_on else [],
            as_of=NOW + timedelta(days=day),
            rules=RULES,
        )
        codes.append(state.code)
    return state, codes


def test_worse_codes_apply_at_once_red_needs_consecutive_days():
    _, codes = run([(0, ONE), (1, TWO), (1.25, TWO), (2, TWO)])
    assert codes == ["yellow", "yellow", "yellow", "red"], (
        "two evaluations on one day are one evaluation day"
    )
    _, codes = run([(0, TWO), (1, ONE), (2, TWO), (3, []), (4, TWO)])
    assert codes == ["yellow"] * 5
    _, codes = run([(0, [])], hard_on=(0,))
    assert codes == ["red"]


def test_improvement_is_one_level_per_full_window():
    state, codes = run([(0, TWO), (1, TWO)])
    assert codes[-1] == "red"
    state, codes = run([(2 + d, []) for d in range(0, 61)], state)
    assert codes[:30] == ["red"] * 30
    assert codes[30] == "yellow" and codes[59] == "yellow" and codes[60] == "green"


def test_oscillating_around_a_threshold_does_not_flap():
    state, codes = run([(0, ONE)])
    days = [(d, [] if d % 2 else ONE) for d in range(1, 120)]
    state, codes = run(days, state)
    assert set(codes) == {"yellow"}, "never 30 days clean, so never green"
    assert state.since == NOW.isoformat(), "one change, at the first breach"
