"""A merchant's facts folded from event sequences, its credit facts, and the data checks."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from policy import load_policy
from services.inspection.domain.data_checks import CHECKS, inputs_of, run_checks
from services.inspection.domain.facts import (
    MerchantFacts,
    classify_merchant,
    fold,
    reconciled,
    to_credit_facts,
)
from services.inspection.domain.rules import InspectionRules

POLICY = load_policy()
RULES = InspectionRules.from_policy(POLICY.inspection)
TODAY = date(2026, 11, 6)  # a Friday
NOW = datetime(2026, 11, 6, 12, 0)


def ago(days: int, hour: int = 9) -> str:
    return (
        datetime.combine(TODAY - timedelta(days=days), datetime.min.time())
        .replace(hour=hour)
        .isoformat()
    )


def code(facts: MerchantFacts, days_ago: int, new: str) -> None:
    at = ago(days_ago)
    fold(facts, "risk.HealthCodeChanged.v1", {"evaluated_at": at, "code": new}, at)


def merchant(industry: str = "retail") -> MerchantFacts:
    facts = MerchantFacts("m-1")
    fold(facts, "merchant.MerchantApplied.v1", {"industry": industry}, ago(800))
    fold(facts, "merchant.MerchantApproved.v1", {}, ago(800))
    return facts


def test_merchant_events_set_industry_status_and_flags():
    facts = MerchantFacts("m-1")
    assert not facts.operating
    fold(facts, "merchant.MerchantApplied.v1", {"industry": "fitness"}, ago(10))
    assert (facts.industry, facts.status) == ("fitness", "pending")
    fold(facts, "merchant.MerchantApproved.v1", {}, ago(9))
    assert facts.operating
    fold(facts, "merchant.MerchantFlagSet.v1", {"flag": "dishonest_debtor", "on": True}, ago(5))
    fold(facts, "merchant.MerchantFlagSet.v1", {"flag": "closure_notice", "on": True}, ago(5))
    fold(facts, "merchant.MerchantFlagSet.v1", {"flag": "closure_notice", "on": False}, ago(4))
    assert facts.flags == ["dishonest_debtor"]
    fold(facts, "merchant.DefaultConfirmed.v1", {}, ago(2))
    fold(facts, "merchant.MerchantStatusChanged.v1", {"status": "delisted"}, ago(1))
    assert facts.status == "defaulted", "a late status cannot undo a default"
    assert not facts.operating


def test_escrow_figures_and_a_refund_counted_once():
    facts = merchant()
    deposit = {"card_id": "c1", "amount": 10_000, "upfront_amount": 3_000}
    fold(facts, "escrow.DepositConfirmed.v1", deposit, ago(30))
    fold(facts, "escrow.RedemptionConfirmed.v1", {"released_amount": 2_000}, ago(20))
    refund = {"card_id": "c1", "rule": "on_request", "refund_amount": 5_000, "refunded_at": ago(3)}
    assert fold(facts, "escrow.CardRefunded.v1", refund, ago(3))
    assert not fold(facts, "escrow.CardRefunded.v1", refund, ago(3)), "redelivered"
    assert (facts.outstanding, facts.escrow_held) == (3_000, 0)


def test_code_history_gives_days_since_red_yellow_days_and_green_streak():
    facts = merchant()
    assert to_credit_facts(facts, TODAY, RULES).code == "unassessed"
    code(facts, 400, "green")
    code(facts, 200, "yellow")
    code(facts, 150, "red")
    code(facts, 100, "yellow")
    code(facts, 70, "green")
    credit = to_credit_facts(facts, TODAY, RULES)
    assert credit.code == "green"
    assert credit.days_since_red == 100, "the day it turned yellow ended the red spell"
    assert credit.yellow_days == 29 + 30, "only the yellow days inside the last 180"
    assert credit.green_days == 70
    assert facts.days_with("yellow", TODAY, 365) == 50 + 30
    # the same changes delivered again, and out of order, change nothing
    code(facts, 150, "red")
    code(facts, 400, "green")
    assert to_credit_facts(facts, TODAY, RULES) == credit


def test_red_now_and_red_today():
    facts = merchant()
    code(facts, 5, "red")
    assert to_credit_facts(facts, TODAY, RULES).days_since_red == 0
    code(facts, 0, "green")
    credit = to_credit_facts(facts, TODAY, RULES)
    assert (credit.code, credit.days_since_red, credit.green_days) == ("green", 0, 0)


@pytest.mark.parametrize(
    "days_ago, risk_class",
    [(89, "I"), (90, "II")],
)
def test_red_within_the_class_i_window(days_ago, risk_class):
    facts = merchant()
    code(facts, 500, "red")
    code(facts, days_ago, "green")
    assert classify_merchant(facts, TODAY, RULES).risk_class == risk_class


def complaint(facts, kind, cid="k1", days_ago=10, hour=9, **extra):
    at = ago(days_ago, hour)
    fold(facts, f"risk.{kind}.v1", {"complaint_id": cid, **extra}, at)


def test_upheld_means_settled_by_a_regulator_and_not_unfounded():
    facts = merchant()
    complaint(facts, "ComplaintFiled", "k1")
    complaint(facts, "ComplaintResolved", "k1", resolved_by="consumer:c9", outcome="accepted")
    complaint(facts, "ComplaintFiled", "k2")
    complaint(facts, "ComplaintEscalated", "k2", escalated_by="consumer:c9")
    complaint(facts, "ComplaintResolved", "k2", resolved_by="regulator:r1", outcome="refunded")
    complaint(facts, "ComplaintFiled", "k3")
    complaint(facts, "ComplaintResolved", "k3", resolved_by="regulator:r1", outcome="unfounded")
    complaint(facts, "ComplaintFiled", "k4")
    complaint(facts, "ComplaintResolved", "k4", resolved_by="regulator:r1", outcome="settled")
    complaint(facts, "ComplaintRuledUnfounded", "k4", ruled_by="regulator:r2")
    assert to_credit_facts(facts, TODAY, RULES).upheld_complaints == 1
    # 12 months later it no longer counts
    assert facts.upheld_within(TODAY + timedelta(days=354), 365) == 1
    assert facts.upheld_within(TODAY + timedelta(days=355), 365) == 0


def test_findings_and_visits_from_the_inspections_own_events():
    facts = merchant()
    fold(facts, "inspection.CheckedIn.v1", {"inspection_id": "in-1"}, ago(40))
    fold(facts, "inspection.CheckedIn.v1", {"inspection_id": "in-1"}, ago(40, 10))
    fold(facts, "inspection.CheckedIn.v1", {"inspection_id": "in-0"}, "2025-12-30T10:00:00")
    fold(
        facts,
        "inspection.ResultRecorded.v1",
        {"inspection_id": "in-1", "finding": "minor"},
        ago(40),
    )
    assert facts.visits_in(2026) == 1, "two inspectors, one visit; last year's not counted"
    assert to_credit_facts(facts, TODAY, RULES).counted == (1, 0)
    fold(facts, "inspection.RectificationAccepted.v1", {"inspection_id": "in-1"}, ago(30))
    assert to_credit_facts(facts, TODAY, RULES).counted == (1, 0)
    assert to_credit_facts(facts, TODAY + timedelta(days=60), RULES).counted == (0, 0)


def refund(facts, card, rule, days_ago, amount=1_000):
    fold(
        facts,
        "escrow.DepositConfirmed.v1",
        {"card_id": card, "amount": amount, "upfront_amount": 0},
        ago(days_ago + 1),
    )
    data = {
        "card_id": card,
        "rule": rule,
        "refund_amount": amount,
        "refunded_at": ago(days_ago),
        "payment_id": f"p-{card}",
    }
    fold(facts, "escrow.CardRefunded.v1", data, ago(days_ago))


def reconcile(facts, days_ago, *, missing=(), late=(), listed=(), complete=True):
    day = (TODAY - timedelta(days=days_ago)).isoformat()
    reconciled(
        facts,
        day,
        list(listed),
        missing_refunds=set(missing),
        late_refunds=set(late),
        complete=complete,
    )


def checks_of(facts, now=NOW):
    passed, checks = run_checks(inputs_of(facts, now, RULES, POLICY.refunds), RULES)
    return passed, {c["check"]: c for c in checks}


def test_a_clean_merchant_passes_every_check():
    facts = merchant()
    refund(facts, "c1", "cooling_off", 20)
    reconcile(facts, 20)
    passed, checks = checks_of(facts)
    assert passed and list(checks) == list(CHECKS)
    assert checks["escrow_coverage"]["value"] is None, "nothing owed"
    assert checks["refunds_on_time"]["value"] == 0


def test_refund_paid_late_or_not_at_all_fails():
    facts = merchant()
    # made 20 days ago (a Monday); the bank's statement lacked it that day and showed it
    # 6 working days later: a cooling-off refund is due in 5
    refund(facts, "c1", "cooling_off", 18)
    reconcile(facts, 18, missing=["p-c1"])
    assert facts.refunds["c1"]["paid_on"] is None
    reconcile(facts, 10, late=["p-c1"])
    assert checks_of(facts)[1]["refunds_on_time"]["value"] == 1
    # the same lateness is on time for an on-request refund (15 days)
    other = merchant()
    refund(other, "c1", "on_request", 18)
    reconcile(other, 18, missing=["p-c1"])
    reconcile(other, 10, late=["p-c1"])
    assert checks_of(other)[0]
    # never paid: late once its due day has passed
    unpaid = merchant()
    refund(unpaid, "c1", "on_request", 14)
    reconcile(unpaid, 14, missing=["p-c1"])
    assert checks_of(unpaid)[0], "due tomorrow"
    passed, checks = checks_of(unpaid, NOW + timedelta(days=2))
    assert not passed and checks["refunds_on_time"]["value"] == 1


def test_an_incomplete_report_does_not_pay_unlisted_refunds():
    facts = merchant()
    refund(facts, "c1", "on_request", 30)
    reconcile(facts, 30, complete=False)
    assert facts.refunds["c1"]["paid_on"] is None


@pytest.mark.parametrize("held_percent, passed", [(99, False), (100, True)])
def test_escrow_coverage(held_percent, passed):
    facts = merchant()
    fold(
        facts,
        "escrow.DepositConfirmed.v1",
        {"card_id": "c", "amount": 10_000, "upfront_amount": 100 * (100 - held_percent)},
        ago(5),
    )
    ok, checks = checks_of(facts)
    assert (ok, checks["escrow_coverage"]["value"]) == (passed, held_percent)


def test_reconciliation_differences_in_the_window():
    facts = merchant()
    difference = {
        "side": "missing_at_bank",
        "kind": "payout",
        "reference": "po-1",
        "amount": 5,
        "count": 1,
    }
    reconcile(facts, 90, listed=[difference])
    assert checks_of(facts)[0], "90 days ago is outside the last 90 days"
    reconcile(facts, 89, listed=[difference])
    reconcile(facts, 89, listed=[difference])
    passed, checks = checks_of(facts)
    assert not passed and checks["reconciliation_differences"]["value"] == 1


@pytest.mark.parametrize("hours, passed", [(72, True), (73, False)])
def test_complaint_response_time(hours, passed):
    facts = merchant()
    complaint(facts, "ComplaintFiled", "k1", days_ago=10, hour=0)
    responded = datetime.fromisoformat(ago(10, 0)) + timedelta(hours=hours)
    complaint(facts, "ComplaintResponded", "k1", responded_at=responded.isoformat())
    ok, checks = checks_of(facts)
    assert (ok, checks["complaint_response"]["value"]) == (passed, hours)


def test_an_unanswered_complaint_counts_its_hours_so_far():
    facts = merchant()
    complaint(facts, "ComplaintFiled", "k1", days_ago=2, hour=12)
    passed, checks = checks_of(facts)
    assert checks["complaint_response"]["value"] == 48 and passed
    assert not checks_of(facts, NOW + timedelta(hours=25))[0]
    complaint(facts, "ComplaintRuledUnfounded", "k1")
    assert checks_of(facts, NOW + timedelta(hours=25))[0], "an unfounded complaint is not counted"
