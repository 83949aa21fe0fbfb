"""The inspection classification, its tables and every boundary on both sides."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from policy import DEFAULT_FILE, PolicyError, load_policy
from services.inspection.domain.classification import (
    Classification,
    CountedFindings,
    CreditFacts,
    Finding,
    classify,
    counted_findings,
    credit_grade,
    quota,
    risk_class,
    routine_mode,
    sampling_percent,
    tier,
    white_listable,
)
from services.inspection.domain.rules import InspectionRules
from services.inspection.domain.visits import Visit, inspector_blocked, merge_visits

RULES = InspectionRules.from_policy(load_policy().inspection)
TODAY = date(2026, 11, 6)
GOOD = CreditFacts(code="green", status="active", green_days=400)
"""A merchant with an A record: green for over a year, nothing against it."""


def rules_of(reasons: list[dict]) -> list[str]:
    return [reason["rule"] for reason in reasons]


@pytest.mark.parametrize(
    "liability, industry, days_since_red, expected, rule",
    [
        (49_999_999, "retail", None, "II", None),
        (50_000_000, "retail", None, "I", "class_i_min_liability"),
        (0, "education", None, "I", "class_i_sectors"),
        (0, "fitness", None, "I", "class_i_sectors"),
        (0, "beauty", None, "I", "class_i_sectors"),
        (0, "catering", None, "II", None),
        (0, "retail", 0, "I", "class_i_red_within_days"),
        (0, "retail", 89, "I", "class_i_red_within_days"),
        (0, "retail", 90, "II", None),
    ],
)
def test_risk_class(liability, industry, days_since_red, expected, rule):
    got, reasons = risk_class(liability, industry, days_since_red, RULES)
    assert got == expected
    if rule:
        assert rules_of(reasons) == [rule], "only the rule that put it in class I"
    else:
        assert rules_of(reasons) == [
            "class_i_min_liability",
            "class_i_sectors",
            "class_i_red_within_days",
        ], "class II names every class-I rule it stays clear of"


def test_every_class_i_cause_is_named():
    got, reasons = risk_class(60_000_000, "fitness", 3, RULES)
    assert got == "I"
    assert [(r["rule"], r["value"], r["threshold"]) for r in reasons] == [
        ("class_i_min_liability", 60_000_000, ">= 50000000"),
        ("class_i_sectors", "fitness", "in education, fitness, beauty"),
        ("class_i_red_within_days", 3, "< 90 days ago"),
    ]


def minor(count: int) -> CountedFindings:
    return CountedFindings(minor=count, serious=0)


@pytest.mark.parametrize(
    "changes, expected, rule",
    [
        ({}, "A", None),
        ({"code": "red", "days_since_red": 0}, "D", "code"),
        ({"status": "defaulted"}, "D", "credit_d_statuses"),
        ({"status": "delisted"}, "D", "credit_d_statuses"),
        ({"flags": ("dishonest_debtor",)}, "D", "credit_d_flags"),
        ({"flags": ("abnormal_operations",)}, "D", "credit_d_flags"),
        ({"flags": ("closure_notice",)}, "A", None),
        ({"counted": CountedFindings(0, 1)}, "D", "credit_d_serious_finding_days"),
        ({"days_since_red": 364}, "C", "credit_c_red_within_days"),
        ({"days_since_red": 365}, "A", None),
        ({"code": "yellow", "yellow_days": 59, "green_days": 0}, "B", "credit_a_min_green_days"),
        ({"code": "yellow", "yellow_days": 60, "green_days": 0}, "C", "credit_c_min_yellow_days"),
        ({"counted": minor(1)}, "B", "credit_a_max_minor_findings"),
        ({"counted": minor(2)}, "C", "credit_c_min_minor_findings"),
        ({"green_days": 179}, "B", "credit_a_min_green_days"),
        ({"green_days": 180}, "A", None),
        ({"upheld_complaints": 1}, "B", "credit_a_max_upheld_complaints"),
    ],
)
def test_credit_grade(changes, expected, rule):
    facts = CreditFacts(**{**GOOD.__dict__, **changes})
    got, reasons = credit_grade(facts, RULES)
    assert got == expected, reasons
    if rule:
        assert rules_of(reasons) == [rule]
    else:
        assert rules_of(reasons) == [
            "credit_a_min_green_days",
            "credit_a_max_upheld_complaints",
            "credit_a_max_minor_findings",
        ]


def test_a_worse_grade_wins_and_names_all_its_causes():
    facts = CreditFacts(
        code="red",
        status="delisted",
        flags=("abnormal_operations", "dishonest_debtor"),
        days_since_red=0,
        yellow_days=100,
    )
    got, reasons = credit_grade(facts, RULES)
    assert got == "D"
    assert [(r["rule"], r["value"]) for r in reasons] == [
        ("code", "red"),
        ("credit_d_statuses", "delisted"),
        ("credit_d_flags", "abnormal_operations"),
        ("credit_d_flags", "dishonest_debtor"),
    ], "the C causes (red this year, yellow days) are not listed under a D"


def test_green_days_count_only_while_green():
    facts = CreditFacts(code="yellow", status="active", green_days=400)
    assert credit_grade(facts, RULES) == (
        "B",
        [{"rule": "credit_a_min_green_days", "value": 0, "threshold": ">= 180"}],
    )


@pytest.mark.parametrize(
    "finding, counted",
    [
        (Finding("none", TODAY), (0, 0)),
        (Finding("minor", TODAY - timedelta(days=900)), (1, 0)),  # never rectified
        (Finding("minor", TODAY - timedelta(days=120), TODAY - timedelta(days=89)), (1, 0)),
        (Finding("minor", TODAY - timedelta(days=120), TODAY - timedelta(days=90)), (0, 0)),
        (Finding("serious", TODAY - timedelta(days=364)), (0, 1)),
        (Finding("serious", TODAY - timedelta(days=365)), (0, 0)),
    ],
)
def test_counted_findings(finding, counted):
    assert counted_findings([finding], TODAY, RULES) == counted


def test_counted_findings_add_up_and_move_the_grade():
    findings = [
        Finding("minor", date(2026, 9, 1)),
        Finding("minor", date(2026, 1, 5), rectified_on=date(2026, 2, 1)),  # repaired
        Finding("minor", date(2026, 8, 1), rectified_on=date(2026, 10, 1)),
        Finding("none", date(2026, 10, 1)),
    ]
    counted = counted_findings(findings, TODAY, RULES)
    assert counted == (2, 0)
    assert credit_grade(CreditFacts(**{**GOOD.__dict__, "counted": counted}), RULES)[0] == "C"


def test_a_finding_is_none_minor_or_serious():
    with pytest.raises(ValueError):
        Finding("major", TODAY)


@pytest.mark.parametrize(
    "risk, grade, expected",
    [
        ("II", "A", "A"),
        ("II", "B", "B"),
        ("II", "C", "C"),
        ("II", "D", "D"),
        ("I", "A", "B"),
        ("I", "B", "C"),
        ("I", "C", "D"),
        ("I", "D", "D"),
    ],
)
def test_tier_matrix(risk, grade, expected):
    assert tier(risk, grade) == expected


@pytest.mark.parametrize("risk, grade", [("III", "A"), ("I", "E"), ("ii", "A")])
def test_no_tier_for_unknown_inputs(risk, grade):
    with pytest.raises(ValueError):
        tier(risk, grade)


@pytest.mark.parametrize(
    "tier_, visits, share, listable, mode",
    [
        ("A", 0, 5, True, "data"),
        ("B", 1, 20, False, "data"),
        ("C", 2, 60, False, "visit"),
        ("D", 4, 100, False, "visit"),
    ],
)
def test_per_tier(tier_, visits, share, listable, mode):
    assert quota(tier_, RULES) == visits
    assert sampling_percent(tier_, RULES) == share
    assert white_listable(tier_) is listable
    assert routine_mode(tier_) == mode


@pytest.mark.parametrize(
    "findings, blocked",
    [
        ([], False),
        (["none", "none"], False),
        (["none", "none", "none"], True),
        (["none", "minor", "none"], False),
        (["none", "minor", "none", "none"], True),
        (["serious", "minor", "minor"], False),
    ],
)
def test_inspector_block(findings, blocked):
    got, reasons = inspector_blocked(findings, RULES)
    assert got is blocked
    assert reasons[0]["rule"] == "block_after_empty_visits"
    assert reasons[0]["value"] == findings.count("none")


def test_inspector_block_refuses_unknown_findings():
    with pytest.raises(ValueError):
        inspector_blocked(["none", "nothing"], RULES)


def visit(visit_id, department, day, merchant="m-1"):
    return Visit(visit_id, merchant, department, date(2026, 1, 1) + timedelta(days=day))


@pytest.mark.parametrize(
    "second_day, joint",
    [(0, 1), (30, 1), (31, 2)],
)
def test_merge_window(second_day, joint):
    merged = merge_visits([visit("v1", "market", 0), visit("v2", "sports", second_day)], RULES)
    assert len(merged) == joint
    if joint == 1:
        assert merged[0].departments == ("market", "sports")
        assert merged[0].on == date(2026, 1, 1)


def test_merge_groups_from_the_first_visit_and_by_department():
    visits = [
        visit("v4", "culture", 31),  # 31 days after v1: a new group, not chained via v2
        visit("v2", "education", 20),
        visit("v1", "market", 0),
        visit("v3", "market", 10),  # the market's second visit: not in the market's group
        visit("v5", "sports", 5, merchant="m-2"),  # another merchant is never merged
    ]
    merged = merge_visits(visits, RULES)
    assert [(j.merchant_id, j.on.day, j.departments, j.visit_ids) for j in merged] == [
        ("m-1", 1, ("market", "education"), ("v1", "v2")),
        ("m-2", 6, ("sports",), ("v5",)),
        ("m-1", 11, ("market", "culture"), ("v3", "v4")),
    ]
    assert merge_visits(list(reversed(visits)), RULES) == merged, "input order does not matter"


def test_classify_builds_the_contracts_inspection_object():
    gym = classify(
        10_000,
        "fitness",
        GOOD,
        white_listed=True,
        visits_this_year=1,
        rules=RULES,
    )
    assert isinstance(gym, Classification)
    shown = gym.as_dict()
    assert {k: v for k, v in shown.items() if k != "reasons"} == {
        "risk_class": "I",
        "credit_grade": "A",
        "tier": "B",
        "white_listed": False,
        "quota_year": 1,
        "visits_this_year": 1,
    }, "the seed's example: class I with credit A is tier B; the white-listing lapses"
    assert rules_of(shown["reasons"]) == [
        "class_i_sectors",
        "credit_a_min_green_days",
        "credit_a_max_upheld_complaints",
        "credit_a_max_minor_findings",
        "tier",
        "white_list",
    ]
    shop = classify(10_000, "retail", GOOD, white_listed=True, visits_this_year=0, rules=RULES)
    assert (shop.tier, shop.white_listed, shop.quota_year) == ("A", True, 0)


@pytest.mark.parametrize(
    "edit, message",
    [
        (("merge_window_days = 30", "merge_window_days = 30\ntypo_days = 1"), "unknown"),
        (("merge_window_days = 30", "merge_window_days = 30.5"), "whole number"),
        (("block_after_empty_visits = 3", "block_after_empty_visits = -1"), "whole number"),
        (("block_after_empty_visits = 3", "block_after_empty_visits = 0"), "at least 1"),
        (("\nA = 0\nB = 1", "\nA = 2\nB = 1"), "better tier"),
        (("\nD = 100", "\nD = 101"), "0..100"),
        (("\nD = 100", "\nE = 100"), "exactly the tiers"),
        (("credit_c_min_yellow_days = 60", "credit_c_min_yellow_days = 181"), "window"),
        (('class_i_sectors = ["education"', "class_i_sectors = [1"), "list of names"),
    ],
)
def test_bad_inspection_sections_are_refused(tmp_path, edit, message):
    path = tmp_path / "policy.toml"
    text = DEFAULT_FILE.read_text()
    assert edit[0] in text
    path.write_text(text.replace(*edit, 1))
    with pytest.raises(PolicyError, match=message):
        InspectionRules.from_policy(load_policy(path).inspection)
