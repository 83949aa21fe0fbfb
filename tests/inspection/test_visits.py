"""e码查 check-in, the block rule, results, rectification, publication and the figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.domain_errors import BusinessRuleViolation, InvalidInput, NotFound
from services.inspection.application import codes, commands, queries, visits
from tests.inspection.fakes import (
    KEY,
    NOW,
    RULES,
    drawn_special_visit,
    sqlite_store,
)

MERCHANT = "m-D-000"


@pytest.fixture
def store(tmp_path):
    store = sqlite_store(tmp_path)
    yield store
    store.close()


def drawn_visit(store, tier="D", period="2026Q1", now=NOW, correlation="c-1"):
    for inspector_id in ("i-1", "i-2"):
        commands.enrol_inspector(inspector_id, "samr", [], "r", store=store, rules=RULES, now=NOW)
    answer, classified = drawn_special_visit(
        store, tier=tier, period=period, now=now, correlation=correlation
    )
    drawn_visit.last = answer
    (entry,) = answer["inspections"]
    return entry, classified


def code(merchant_id=MERCHANT, now=NOW, key=KEY):
    return codes.merchant_code(merchant_id, key=key, now=now, valid_minutes=10)["merchant_code"]


def check_in(store, entry, classified, inspector="i-1", merchant_code=None, now=NOW):
    return visits.check_in(
        entry["inspection_id"],
        inspector,
        merchant_code or code(now=now),
        store=store,
        key=KEY,
        classifications=classified,
        rules=RULES,
        now=now,
    )


def result(store, entry, finding, inspector="i-1", days=None, now=NOW):
    return visits.record_result(
        entry["inspection_id"], inspector, finding, "note", days, store=store, rules=RULES, now=now
    )


def test_a_merchant_code_is_checked_for_signature_expiry_and_merchant(store):
    entry, classified = drawn_visit(store)
    assert entry["inspectors"] == ["i-1", "i-2"] or sorted(entry["inspectors"]) == ["i-1", "i-2"]
    for bad in (
        "garbage",
        code(merchant_id="m-other"),
        code(now=NOW - timedelta(minutes=10)),  # expired exactly now
        code(key=Ed25519PrivateKey.generate()),
    ):
        with pytest.raises(BusinessRuleViolation) as refused:
            check_in(store, entry, classified, merchant_code=bad)
        assert refused.value.code == "invalid_merchant_code"
    fresh = check_in(store, entry, classified, merchant_code=code(now=NOW - timedelta(minutes=9)))
    assert fresh["inspection_id"] == entry["inspection_id"]


def test_only_an_assigned_inspector_checks_in_and_again_returns_the_first(store):
    entry, classified = drawn_visit(store)
    with pytest.raises(NotFound) as stranger:
        check_in(store, entry, classified, inspector="i-9")
    assert stranger.value.code == "not_your_inspection"
    first = check_in(store, entry, classified)
    again = check_in(store, entry, classified, now=NOW + timedelta(minutes=5))
    assert again == first
    assert queries.inspection(store, entry["inspection_id"])["status"] == "checked_in"


def test_over_quota_warns_at_check_in(store):
    entry, classified = drawn_visit(store, tier="A")  # tier A: quota 0 visits a year
    answer = check_in(store, entry, classified, merchant_code=code("m-A-000"))
    assert answer["over_quota"] is True and answer["warning"] == "over_quota"
    second = check_in(store, entry, classified, inspector="i-2", merchant_code=code("m-A-000"))
    assert second["warning"] == "over_quota"
    entry_d, classified_d = drawn_visit(store, correlation="c-2")  # tier D, first visit
    assert "warning" not in check_in(store, entry_d, classified_d)


def test_an_inspector_with_three_empty_visits_this_year_is_blocked(store):
    for n in range(RULES.block_after_empty_visits):
        entry, classified = drawn_visit(store, correlation=f"c-{n}")
        check_in(store, entry, classified)
        result(store, entry, "none")
    with pytest.raises(ValueError):  # i-1 is blocked there: one free inspector is too few
        drawn_visit(store, correlation="c-last")
    assert [u["merchant_id"] for u in drawn_visit.last["unstaffed"]] == [MERCHANT]
    roster = commands.roster(store, "samr", "2026", RULES)
    assert {r["inspector_id"]: r["blocked"] for r in roster} == {
        "i-1": [MERCHANT],
        "i-2": [],  # only the inspector who checked in carries the visit's finding
    }
    assert commands.roster(store, "samr", "2027", RULES)[0]["blocked"] == []


def test_a_blocked_inspector_is_refused_at_check_in(store):
    entries = []
    for n in range(RULES.block_after_empty_visits + 1):
        entries.append(drawn_visit(store, correlation=f"c-{n}"))
    for entry, classified in entries[:-1]:
        check_in(store, entry, classified)
        result(store, entry, "none")
    last, classified = entries[-1]  # drawn before the block
    with pytest.raises(BusinessRuleViolation) as refused:
        check_in(store, last, classified)
    assert refused.value.code == "inspector_blocked"
    # two empty visits are not enough, on the other side of the boundary
    assert RULES.block_after_empty_visits == 3


def test_minor_finding_rectification_acceptance_and_publication(store):
    entry, classified = drawn_visit(store)
    with pytest.raises(BusinessRuleViolation) as early:
        result(store, entry, "minor", days=30)
    assert early.value.code == "not_checked_in"
    check_in(store, entry, classified)
    for days in (None, 0, 91):
        with pytest.raises(InvalidInput) as bad:
            result(store, entry, "minor", days=days)
        assert bad.value.code == "invalid_rectification_days"
    with pytest.raises(BusinessRuleViolation) as nothing:
        visits.accept_rectification(entry["inspection_id"], "r", store=store, rules=RULES, now=NOW)
    assert nothing.value.code == "no_rectification_submitted"
    done = result(store, entry, "minor", days=30)
    assert done["result"]["rectification_due"] == "2026-04-01" and done["published"] is None
    with pytest.raises(NotFound):
        visits.submit_rectification(
            entry["inspection_id"], "m-other", "a" * 64, "", store=store, rules=RULES, now=NOW
        )
    visits.submit_rectification(
        entry["inspection_id"], MERCHANT, "a" * 64, "fixed", store=store, rules=RULES, now=NOW
    )
    accepted = visits.accept_rectification(
        entry["inspection_id"], "r", store=store, rules=RULES, now=NOW
    )
    assert accepted["published"]["status"] == "rectified"
    public = queries.published(store, MERCHANT)["items"]
    assert [(p["finding"], p["status"]) for p in public] == [("minor", "rectified")]
    assert "by" not in public[0] and "note" not in public[0]


def test_serious_publishes_as_referred_and_the_timer_publishes_overdue_minors(store):
    entry, classified = drawn_visit(store)
    check_in(store, entry, classified)
    assert result(store, entry, "serious")["published"]["status"] == "referred"
    other, classified = drawn_visit(store, correlation="c-2")
    check_in(store, other, classified, inspector="i-2")
    result(store, other, "minor", inspector="i-2", days=5)
    limit = RULES.publish_within_working_days
    assert visits.publish_overdue(store=store, rules=RULES, now=NOW + timedelta(days=27)) == 0
    later = NOW + timedelta(days=28)  # 20 working days after a Monday
    assert visits.working_days_between(NOW.date(), later.date()) == limit
    assert visits.publish_overdue(store=store, rules=RULES, now=later) == 1
    doc = queries.inspection(store, other["inspection_id"])
    assert doc["published"]["status"] == "rectification_overdue"
    figures = queries.stats(store, 2026, RULES, later.date().isoformat())
    assert figures["visits"] == 2 and figures["overdue_rectifications"] == 1
    assert figures["by_tier"]["D"]["visits"] == 2
