"""The views that keep the busy paths bounded: a day's refunds one row each, the facts' code
history pruned to what a window reaches, the timer's publish-due rows and the per-year rows
of the figures."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from policy import load_policy
from services.inspection.application import classifications as cls
from services.inspection.application import codes, commands, queries, visits
from services.inspection.application.store import BY_YEAR, INSPECTIONS, PUBLISH_DUE
from services.inspection.domain.calendar import add_working_days, working_days_between
from services.inspection.domain.facts import MerchantFacts, classify_merchant, fold, prune
from tests.inspection.fakes import (
    KEY,
    NOW,
    RULES,
    drawn_special_visit,
    sqlite_store,
)

DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    opened = sqlite_store(tmp_path)
    yield opened
    opened.close()


def feed(store, event_type, data, at):
    with store.unit_of_work() as uow:
        return cls.observe(uow, event_type, data, at, RULES, views=store)


def all_rows(store, collection):
    rows, after = [], ""
    while page := store.list_views(collection, after, 1000):
        rows += page
        after = page[-1][0]
    return rows


# --- M2: a day's refunds -------------------------------------------------------------------------
def refund(store, merchant_id, card_id, at):
    data = {
        "merchant_id": merchant_id,
        "card_id": card_id,
        "rule": "on_request",
        "refund_amount": 100,
        "refunded_at": at.isoformat(),
    }
    return feed(store, "escrow.CardRefunded.v1", data, at)


def test_each_refund_is_one_small_row_and_the_reconciliation_lists_its_day(store):
    for n in range(300):
        refund(store, f"m-{n % 3}", f"c-{n}", DAY)
    refund(store, "m-0", "c-0", DAY)  # delivered twice
    refund(store, "m-9", "c-late", DAY + timedelta(days=1))  # the next day's
    rows = all_rows(store, cls.REFUNDS_BY_DAY)
    assert len(rows) == 301
    assert all(doc == {} for _, doc in rows)
    assert ("2026-03-02/m-1/c-1", {}) in rows
    assert max(len(json.dumps(doc)) for _, doc in rows) < 10
    assert cls.refunded_merchants(store, "2026-03-02") == {"m-0", "m-1", "m-2"}
    assert cls.refunded_merchants(store, "2026-03-03") == {"m-9"}
    assert cls.refunded_merchants(store, "2026-03-01") == set()
    report = {"day": "2026-03-02", "differences": [], "differences_total": 0}
    assert feed(store, cls.RECONCILED, report, DAY + timedelta(days=1)) == ["m-0", "m-1", "m-2"]
    refunds = load_policy().refunds
    inputs = cls.data_check_inputs(store, "m-1", DAY + timedelta(days=1), RULES, refunds)
    assert (inputs["refunds"], inputs["late_refunds"]) == (100, 0)


def test_a_reconciliation_needs_the_views_to_list_its_day(store):
    with store.unit_of_work() as uow, pytest.raises(TypeError):
        cls.observe(uow, cls.RECONCILED, {"day": "2026-03-02"}, DAY, RULES)


# --- M2: the facts' code history -----------------------------------------------------------------
def test_the_code_history_is_pruned_to_the_last_spell_before_the_window():
    start = date(2023, 1, 1)
    facts = MerchantFacts("m-1", industry="retail", status="active")
    cycle = ("green", "yellow", "green", "red", "green", "green")
    for n in range(60):  # a change every 20 days for over three years
        at = datetime.combine(start + timedelta(days=20 * n), datetime.min.time()).isoformat()
        fold(facts, "risk.HealthCodeChanged.v1", {"evaluated_at": at, "code": cycle[n % 6]}, at)
    keep = cls.keep_days(RULES)
    pruned = copy.deepcopy(facts)
    first = start + timedelta(days=20 * 60)
    for offset in range(0, 500, 7):
        today = first + timedelta(days=offset)
        prune(pruned, today, keep)
        horizon = (today - timedelta(days=keep)).isoformat()
        assert sum(at[:10] < horizon for at, _ in pruned.codes) <= 1
        ours, all_of_it = (classify_merchant(f, today, RULES) for f in (pruned, facts))
        assert (ours.risk_class, ours.credit_grade, ours.tier) == (
            all_of_it.risk_class,
            all_of_it.credit_grade,
            all_of_it.tier,
        ), today
    assert len(pruned.codes) <= keep // 20 + 2 < len(facts.codes)


def test_a_green_streak_that_began_before_the_horizon_survives_the_prune():
    facts = MerchantFacts("m-1", industry="retail", status="active")
    for at, new in (("2024-01-01T00:00:00", "red"), ("2024-02-01T00:00:00", "green")):
        fold(facts, "risk.HealthCodeChanged.v1", {"evaluated_at": at, "code": new}, at)
    today = date(2026, 1, 1)
    prune(facts, today, cls.keep_days(RULES))
    assert facts.codes == [["2024-02-01T00:00:00", "green"]]
    assert classify_merchant(facts, today, RULES).credit_grade == "A"


# --- M5: the timer's publish-due rows and the year's rows ---------------------------------------
def visit(store, correlation, tier="D", now=NOW):
    answer, classified = drawn_special_visit(store, tier=tier, now=now, correlation=correlation)
    (entry,) = answer["inspections"]
    merchant_code = codes.merchant_code(entry["merchant_id"], key=KEY, now=now, valid_minutes=10)
    visits.check_in(
        entry["inspection_id"],
        "i-1",
        merchant_code["merchant_code"],
        store=store,
        key=KEY,
        classifications=classified,
        rules=RULES,
        now=now,
    )
    return entry["inspection_id"]


def enrol(store):
    for inspector_id in ("i-1", "i-2"):
        commands.enrol_inspector(inspector_id, "samr", [], "r", store=store, rules=RULES, now=NOW)


def test_add_working_days_is_the_first_day_the_count_reaches():
    monday = date(2026, 3, 2)
    assert add_working_days(monday, 0) == monday
    for days in range(1, 30):
        first = monday + timedelta(days=days % 7)
        due = add_working_days(first, days)
        assert working_days_between(first, due) == days
        assert working_days_between(first, due - timedelta(days=1)) < days


def test_the_timer_reads_only_the_results_due_and_their_rows_go_when_published(store):
    enrol(store)
    closed, minor = visit(store, "c-1"), visit(store, "c-2")
    visits.record_result(closed, "i-1", "none", "", None, store=store, rules=RULES, now=NOW)
    visits.record_result(minor, "i-1", "minor", "", 5, store=store, rules=RULES, now=NOW)
    due = add_working_days(NOW.date(), RULES.publish_within_working_days).isoformat()
    assert [key for key, _ in all_rows(store, PUBLISH_DUE)] == [f"{due}|{minor}"]
    # A result with no row (as if of another day) is not the timer's to find by a scan.
    stray = {**store.get_view(INSPECTIONS, minor), "inspection_id": "in-stray"}
    with store.unit_of_work() as uow:
        uow.put_view(INSPECTIONS, "in-stray", stray)
    later = datetime.fromisoformat(due + "T12:00:00+08:00")
    assert visits.publish_overdue(store=store, rules=RULES, now=later - timedelta(days=1)) == 0
    assert visits.publish_overdue(store=store, rules=RULES, now=later) == 1
    assert all_rows(store, PUBLISH_DUE) == []
    assert visits.publish_overdue(store=store, rules=RULES, now=later) == 0


def test_the_figures_read_the_years_rows(store):
    enrol(store)
    this_year = visit(store, "c-1")
    next_year = visit(store, "c-2", now=datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    visits.record_result(this_year, "i-1", "minor", "", 5, store=store, rules=RULES, now=NOW)
    keys = [key for key, _ in all_rows(store, BY_YEAR)]
    assert keys == [
        f"2026/due/2026-03-07/{this_year}",
        f"2026/visit/{this_year}",
        f"2027/visit/{next_year}",
    ]
    figures = queries.stats(store, 2026, RULES, "2026-03-08")
    assert (figures["visits"], figures["overdue_rectifications"]) == (1, 1)
    assert queries.stats(store, 2027, RULES, "2027-03-01")["visits"] == 1
    assert queries.stats(store, 2025, RULES, "2027-03-01")["visits"] == 0
    visits.submit_rectification(
        this_year, "m-D-000", "a" * 64, "", store=store, rules=RULES, now=NOW
    )
    (named,) = queries.evidence_inspections(store, "a" * 64)["items"]
    assert (named["inspection_id"], named["merchant_id"]) == (this_year, "m-D-000")
    assert sorted(named["inspectors"]) == ["i-1", "i-2"]
    assert queries.evidence_inspections(store, "b" * 64)["items"] == []
    visits.accept_rectification(this_year, "r", store=store, rules=RULES, now=NOW)
    assert queries.stats(store, 2026, RULES, "2026-03-08")["overdue_rectifications"] == 0
    assert f"2026/due/2026-03-07/{this_year}" not in dict(all_rows(store, BY_YEAR))
