"""综合查一次 counts one trip per joint visit against the quota; the calendar (quota and block
years, working days, deadlines) is China's (UTC+8), whatever zone a time is written in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.inspection.application import classifications, codes, commands, queries, visits
from services.inspection.application.store import FINDINGS
from services.inspection.domain.calendar import china_day, china_year
from tests.inspection.fakes import (
    KEY,
    NOW,
    RULES,
    drawn_special_visit,
    sqlite_store,
)

INSPECTORS = {"samr": ("i-1", "i-2"), "education": ("e-1", "e-2")}


@pytest.fixture
def store(tmp_path):
    store = sqlite_store(tmp_path)
    for department, ids in INSPECTORS.items():
        for inspector_id in ids:
            commands.enrol_inspector(
                inspector_id, department, [], "r", store=store, rules=RULES, now=NOW
            )
    yield store
    store.close()


def visit(store, department, now, tier="D", correlation="c-1", period="2026Q1"):
    """A special plan's visit to the tier's one merchant, drawn at `now`."""
    answer, classified = drawn_special_visit(
        store, department=department, tier=tier, period=period, now=now, correlation=correlation
    )
    (entry,) = answer["inspections"]
    return entry, classified


def check_in(store, entry, classified, department, now):
    merchant_code = codes.merchant_code(entry["merchant_id"], key=KEY, now=now, valid_minutes=10)
    return visits.check_in(
        entry["inspection_id"],
        INSPECTORS[department][0],
        merchant_code["merchant_code"],
        store=store,
        key=KEY,
        classifications=classified,
        rules=RULES,
        now=now,
    )


def counted_visits(store, merchant_id, year):
    return visits.visits_this_year(store, merchant_id, year)


# --- 综合查一次: one trip per joint visit ---------------------------------------------------------
@pytest.mark.parametrize(("days", "trips"), [(30, 1), (31, 2)])
def test_two_departments_within_the_window_are_one_trip_against_the_quota(store, days, trips):
    assert RULES.merge_window_days == 30
    first, classified = visit(store, "samr", NOW, tier="B")  # tier B: 1 visit a year
    later = NOW + timedelta(days=days)
    second, classified = visit(store, "education", later, tier="B")
    joint = queries.inspection(store, second["inspection_id"])["joint_with"]
    assert joint == ([first["inspection_id"]] if trips == 1 else [])
    # Both departments at the door the same day: one trip when their visits were joined.
    check_in(store, first, classified, "samr", later)
    answer = check_in(store, second, classified, "education", later + timedelta(hours=1))
    assert answer["over_quota"] is (trips == 2)
    assert counted_visits(store, "m-B-000", 2026) == trips
    assert classifications.get(store, "m-B-000")["visits_this_year"] == trips
    figures = queries.stats(store, 2026, RULES, later.date().isoformat())
    assert figures["by_tier"]["B"]["visits"] == 2  # each department's inspection is on record
    assert figures["by_tier"]["B"]["quota_used"] == trips


def test_a_visit_made_is_no_trip_for_visits_drawn_after_it(store):
    """A trip made cannot be joined later: a visit drawn after it is a trip of its own, and
    cannot pass a trip on to a third visit drawn weeks later (the quota once counted one
    trip for three visits 45 days apart)."""
    a, classified = visit(store, "samr", NOW, tier="B", correlation="a")
    check_in(store, a, classified, "samr", NOW)
    b, _ = visit(store, "education", NOW + timedelta(days=20), tier="B", correlation="b")
    assert queries.inspection(store, b["inspection_id"])["joint_with"] == []
    late = check_in(store, b, classified, "education", NOW + timedelta(days=22))
    assert late["over_quota"] is True  # tier B: one visit a year, and this is the second
    d, _ = visit(store, "samr", NOW + timedelta(days=45), tier="B", correlation="d")
    third = check_in(store, d, classified, "samr", NOW + timedelta(days=46))
    assert third["over_quota"] is True
    assert counted_visits(store, "m-B-000", 2026) == 3


def test_joined_visits_made_on_different_days_are_two_trips(store):
    first, classified = visit(store, "samr", NOW, tier="B", correlation="a")
    second, _ = visit(store, "education", NOW + timedelta(days=3), tier="B", correlation="b")
    assert queries.inspection(store, second["inspection_id"])["joint_with"] == [
        first["inspection_id"]
    ]
    check_in(store, first, classified, "samr", NOW + timedelta(days=5))
    apart = check_in(store, second, classified, "education", NOW + timedelta(days=9))
    assert apart["over_quota"] is True and counted_visits(store, "m-B-000", 2026) == 2


def test_a_trip_counts_once_even_when_both_departments_check_in_the_same_day(store):
    first, classified = visit(store, "samr", NOW)
    second, _ = visit(store, "education", NOW)
    check_in(store, second, classified, "education", NOW)
    check_in(store, first, classified, "samr", NOW + timedelta(hours=1))
    assert counted_visits(store, "m-D-000", 2026) == 1
    trip = queries.inspection(store, first["inspection_id"])["trip"]
    assert trip == queries.inspection(store, second["inspection_id"])["trip"]


# --- China time -------------------------------------------------------------------------------
NEW_YEAR = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 2027-01-01T01:00+08:00


def test_the_calendar_helpers_are_china_time():
    assert china_year(NEW_YEAR) == 2027 and china_year("2027-01-01T01:00:00+08:00") == 2027
    assert china_day("2026-12-31T15:59:59+00:00").isoformat() == "2026-12-31"
    assert china_day("2026-12-31T16:00:00").isoformat() == "2027-01-01"  # no zone: UTC


def test_a_check_in_at_one_in_the_morning_of_new_year_in_china_counts_in_the_new_year(store):
    entry, classified = visit(store, "samr", NEW_YEAR - timedelta(hours=1), period="2026Q4")
    check_in(store, entry, classified, "samr", NEW_YEAR)
    assert counted_visits(store, "m-D-000", 2027) == 1
    assert counted_visits(store, "m-D-000", 2026) == 0
    assert classifications.get(store, "m-D-000")["visits_this_year"] == 1
    assert queries.stats(store, 2027, RULES, "2027-01-01")["visits"] == 1
    assert queries.stats(store, 2026, RULES, "2027-01-01")["visits"] == 0
    visits.record_result(
        entry["inspection_id"], "i-1", "none", "", None, store=store, rules=RULES, now=NEW_YEAR
    )
    assert store.get_view(FINDINGS, "i-1/m-D-000/2027") == {"findings": ["none"]}
    assert store.get_view(FINDINGS, "i-1/m-D-000/2026") is None


def test_working_days_and_deadlines_are_counted_in_china(store):
    recorded = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # Monday UTC, Tuesday 01:00 in China
    entry, classified = visit(store, "samr", recorded - timedelta(hours=1))
    check_in(store, entry, classified, "samr", recorded)
    done = visits.record_result(
        entry["inspection_id"], "i-1", "minor", "", 5, store=store, rules=RULES, now=recorded
    )
    assert done["result"]["rectification_due"] == "2026-03-08"  # Tuesday 3 March + 5 days
    monday_evening = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)  # 17:00 Monday in China: 19 days
    assert visits.publish_overdue(store=store, rules=RULES, now=monday_evening) == 0
    tuesday = datetime(2026, 3, 30, 16, 30, tzinfo=UTC)  # 00:30 Tuesday in China: 20 days
    assert visits.publish_overdue(store=store, rules=RULES, now=tuesday) == 1
