"""The classification projection on a real (SQLite) store: events in, views and
ClassificationChanged out; the white list; time moving; the eligible lists."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.domain_errors import BusinessRuleViolation, InvalidInput, NotFound
from services.inspection.application import classifications as cls
from services.inspection.domain.rules import InspectionRules

POLICY = load_policy()
RULES = InspectionRules.from_policy(POLICY.inspection)
START = datetime(2025, 1, 6, 9, 0)


@pytest.fixture
def store(tmp_path):
    opened = SqliteEventStore(tmp_path / "inspection.db")
    yield opened
    opened.close()


def feed(store, event_type, data, at, findings=None):
    with store.unit_of_work() as uow:
        return cls.observe(uow, event_type, data, at, RULES, findings=findings, views=store)


def merchant(store, merchant_id, industry="retail", at=START):
    feed(
        store, "merchant.MerchantApplied.v1", {"merchant_id": merchant_id, "industry": industry}, at
    )
    feed(store, "merchant.MerchantApproved.v1", {"merchant_id": merchant_id}, at)


def code(store, merchant_id, new, at):
    data = {"merchant_id": merchant_id, "code": new, "evaluated_at": at.isoformat()}
    feed(store, "risk.HealthCodeChanged.v1", data, at)


def changes(store, merchant_id):
    return [
        (r.type.split(".")[1], r.data.get("tier"), r.data["white_listed"])
        for r in store.read_stream(cls.stream(merchant_id))
    ]


def test_events_build_the_classification_and_changes_are_events(store):
    merchant(store, "m-1")
    assert cls.get(store, "m-1")["tier"] == "B", "never assessed: not green 180 days"
    code(store, "m-1", "green", START)
    assert changes(store, "m-1") == [("ClassificationChanged", "B", False)]
    later = START + timedelta(days=180)
    cls.reclassify_all(store, RULES, later)
    shown = cls.get(store, "m-1")
    assert (shown["risk_class"], shown["credit_grade"], shown["tier"]) == ("II", "A", "A")
    assert shown["as_of"] == later.isoformat()
    assert changes(store, "m-1")[-1] == ("ClassificationChanged", "A", False)
    cls.reclassify_all(store, RULES, later + timedelta(days=1))
    assert len(changes(store, "m-1")) == 2, "one more green day changes no class, grade or tier"
    assert cls.get(store, "nobody") is None


def test_redelivered_events_change_nothing(store):
    merchant(store, "m-1")
    deposit = {
        "merchant_id": "m-1",
        "card_id": "c1",
        "payment_id": "p1",
        "amount": 60_000_000,
        "upfront_amount": 0,
    }
    feed(store, "escrow.DepositConfirmed.v1", deposit, START)
    assert cls.get(store, "m-1")["risk_class"] == "I", "500,000 yuan owed"
    refund = {
        "merchant_id": "m-1",
        "card_id": "c1",
        "rule": "on_request",
        "refund_amount": 20_000_000,
        "refunded_at": START.isoformat(),
    }
    assert feed(store, "escrow.CardRefunded.v1", refund, START) == ["m-1"]
    assert feed(store, "escrow.CardRefunded.v1", refund, START) == []
    assert cls.get(store, "m-1")["risk_class"] == "II"


def test_red_91_days_ago_is_no_longer_class_i_and_12_months_for_grade_c(store):
    merchant(store, "m-1")
    code(store, "m-1", "red", START)
    green_on = START + timedelta(days=10)
    code(store, "m-1", "green", green_on)
    assert (cls.get(store, "m-1")["risk_class"], cls.get(store, "m-1")["tier"]) == ("I", "D")
    cls.reclassify_all(store, RULES, green_on + timedelta(days=89))
    assert cls.get(store, "m-1")["risk_class"] == "I"
    cls.reclassify_all(store, RULES, green_on + timedelta(days=91))
    shown = cls.get(store, "m-1")
    assert (shown["risk_class"], shown["credit_grade"], shown["tier"]) == ("II", "C", "C")
    cls.reclassify_all(store, RULES, green_on + timedelta(days=364))
    assert cls.get(store, "m-1")["credit_grade"] == "C"
    cls.reclassify_all(store, RULES, green_on + timedelta(days=365))
    assert cls.get(store, "m-1")["credit_grade"] == "A", "green 365 days, red a year ago"
    tiers = [t for _, t, _ in changes(store, "m-1")]
    assert tiers == ["B", "D", "D", "C", "A"], "red: D/D, green: class I grade C is still D"


def test_reconciliation_names_the_merchant_and_pays_its_refunds(store):
    merchant(store, "m-1")
    merchant(store, "m-2")
    day = START.date().isoformat()
    feed(
        store,
        "escrow.DepositConfirmed.v1",
        {
            "merchant_id": "m-1",
            "card_id": "c1",
            "payment_id": "p1",
            "amount": 1_000,
            "upfront_amount": 0,
        },
        START,
    )
    feed(
        store,
        "escrow.PayoutMade.v1",
        {"merchant_id": "m-2", "payout_id": "po-9", "amount": 5},
        START,
    )
    feed(
        store,
        "escrow.CardRefunded.v1",
        {
            "merchant_id": "m-1",
            "card_id": "c1",
            "rule": "cooling_off",
            "refund_amount": 1_000,
            "refunded_at": START.isoformat(),
        },
        START,
    )
    report = {
        "day": day,
        "status": "differences",
        "differences": [
            {
                "side": "missing_at_bank",
                "kind": "payout",
                "reference": "po-9",
                "amount": 5,
                "count": 1,
            }
        ],
        "differences_total": 1,
    }
    later = START + timedelta(days=1)
    assert feed(store, cls.RECONCILED, report, later) == ["m-1", "m-2"]
    m1 = cls.data_check_inputs(store, "m-1", later, RULES, POLICY.refunds)
    m2 = cls.data_check_inputs(store, "m-2", later, RULES, POLICY.refunds)
    assert (m1["refunds"], m1["late_refunds"], m1["differences"]) == (1, 0, 0)
    assert m2["differences"] == 1
    with pytest.raises(NotFound):
        cls.data_check_inputs(store, "nobody", later, RULES, POLICY.refunds)


def a_merchant(store, merchant_id, industry="retail"):
    merchant(store, merchant_id, industry)
    code(store, merchant_id, "green", START)


def test_white_list_rules(store):
    a_merchant(store, "m-a")
    a_merchant(store, "m-b")
    now = START + timedelta(days=200)
    cls.reclassify_all(store, RULES, now)
    code(store, "m-b", "yellow", now)
    with pytest.raises(BusinessRuleViolation) as refused:
        cls.set_white_list(store, "m-b", True, "good record", "regulator:r1", now)
    assert refused.value.code == "not_tier_a"
    with pytest.raises(InvalidInput):
        cls.set_white_list(store, "m-a", True, "  ", "regulator:r1", now)
    with pytest.raises(NotFound):
        cls.set_white_list(store, "nobody", True, "x", "regulator:r1", now)
    shown = cls.set_white_list(store, "m-a", True, "good record", "regulator:r1", now)
    assert shown["white_listed"] is True
    again = cls.set_white_list(store, "m-a", True, "good record", "regulator:r1", now)
    assert again == shown
    assert changes(store, "m-a")[-2:] == [
        ("WhiteListChanged", None, True),
        ("ClassificationChanged", "A", True),
    ]
    # a yellow code takes it out of tier A: the white-listing lapses, and stays lapsed
    code(store, "m-a", "yellow", now + timedelta(days=1))
    assert cls.get(store, "m-a")["white_listed"] is False
    code(store, "m-a", "green", now + timedelta(days=2))
    cls.reclassify_all(store, RULES, now + timedelta(days=200))
    shown = cls.get(store, "m-a")
    assert (shown["tier"], shown["white_listed"]) == ("A", False)
    listed = cls.set_white_list(
        store, "m-a", True, "again", "regulator:r1", now + timedelta(days=200)
    )
    assert listed["white_listed"]
    off = cls.set_white_list(
        store, "m-a", False, "campaign", "regulator:r1", now + timedelta(days=201)
    )
    assert off["white_listed"] is False


def test_eligible_lists_mark_white_listed_and_at_quota(store):
    now = START + timedelta(days=200)
    a_merchant(store, "m-a")  # tier A, white-listed below
    a_merchant(store, "m-gym", "fitness")  # class I: tier B
    merchant(store, "m-red", "education")
    code(store, "m-red", "red", START)  # tier D, quota 4
    merchant(store, "m-pending")
    feed(
        store,
        "merchant.MerchantStatusChanged.v1",
        {"merchant_id": "m-pending", "status": "closed"},
        START,
    )
    feed(
        store, "merchant.MerchantApplied.v1", {"merchant_id": "m-new", "industry": "retail"}, START
    )
    cls.reclassify_all(store, RULES, now)
    cls.set_white_list(store, "m-a", True, "good record", "regulator:r1", now)
    for i in range(4):
        feed(
            store,
            "inspection.CheckedIn.v1",
            {"merchant_id": "m-red", "inspection_id": f"in-{i}"},
            now,
        )
    everyone = cls.eligible_merchants(store, "samr", "routine")
    assert everyone == [
        {"merchant_id": "m-a", "tier": "A", "white_listed": True, "at_quota": False},
        {"merchant_id": "m-gym", "tier": "B", "white_listed": False, "at_quota": False},
        {"merchant_id": "m-red", "tier": "D", "white_listed": False, "at_quota": True},
    ], "closed and never approved merchants are not inspected"
    assert cls.eligible_merchants(store, "samr", "special") == everyone
    assert [m["merchant_id"] for m in cls.eligible_merchants(store, "sports", "routine")] == [
        "m-gym"
    ]
    assert [m["merchant_id"] for m in cls.eligible_merchants(store, "commerce", "special")] == [
        "m-a"
    ]
    for bad, code_ in (
        (("police", "routine"), "invalid_department"),
        (("samr", "weekly"), "invalid_kind"),
    ):
        with pytest.raises(InvalidInput) as refused:
            cls.eligible_merchants(store, *bad)
        assert refused.value.code == code_


def test_a_sweep_never_overwrites_a_finding_folded_while_it_ran(store):
    """The timer lists a page of facts, then reclassifies it: a finding recorded between the
    two (a consumer's unit of work) is kept, not lost to the page's older copy."""
    merchant(store, "m-1")
    code(store, "m-1", "green", START)
    listed = store.list_views

    def list_then_a_finding_arrives(collection, after, limit):
        rows = listed(collection, after, limit)
        if collection == cls.FACTS and rows:
            finding = {"merchant_id": "m-1", "inspection_id": "in-1", "finding": "serious"}
            feed(store, "inspection.ResultRecorded.v1", finding, START + timedelta(days=1))
        return rows

    store.list_views = list_then_a_finding_arrives
    cls.reclassify_all(store, RULES, START + timedelta(days=2))
    store.list_views = listed
    shown = cls.get(store, "m-1")
    assert shown["credit_grade"] == "D", shown["reasons"]
