"""风险+信用 classification of a merchant for inspections. Stdlib only.

Each verdict comes with its reasons, like the health code: `[{rule, value, threshold}]`, where
`rule` names the policy key (in [inspection]) that decided, `value` the merchant's input and
`threshold` the rule's limit, so a merchant or a regulator sees which input put it there.

* Risk class: I (重点监管) when any class-I rule holds, else II; a class II's reasons are the
  class-I rules it stays clear of.
* Credit grade: the first of D, C that any rule puts the merchant in; else A when every A rule
  holds; else B, whose reasons are the A rules not met.
* Tier: class II keeps its grade; class I is one step worse (A->B, B->C, C->D, D stays D).

Windows: "red within N days" and "serious finding within N days" are the last N days with
today included: `days since < N` (0 is today). A rectified minor finding counts while fewer
than `rectification_repair_days` days have passed since its rectification; an unrectified one
counts until it is rectified. A finding of "none" never counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from services.inspection.domain.rules import TIERS, InspectionRules

RISK_CLASSES = ("I", "II")
FINDINGS = ("none", "minor", "serious")
DATA_CHECK_TIERS = ("A", "B")
"""无感监管: these tiers' routine check is a data check, no visit (无问题线索不现场检查)."""


def _reason(rule: str, value: Any, threshold: str) -> dict:
    return {"rule": rule, "value": value, "threshold": threshold}


def risk_class(
    liability_fen: int, industry: str, days_since_red: int | None, rules: InspectionRules
) -> tuple[str, list[dict]]:
    """Class I when the outstanding prepaid liability is at least the threshold, the sector is
    on the high-risk list, or the merchant was red in the last `class_i_red_within_days` days
    (`days_since_red`: 0 = red today, None = never red)."""
    sectors = ", ".join(rules.class_i_sectors)
    red_within = rules.class_i_red_within_days
    recently_red = days_since_red is not None and days_since_red < red_within
    checks = [
        (
            liability_fen >= rules.class_i_min_liability,
            _reason("class_i_min_liability", liability_fen, f">= {rules.class_i_min_liability}"),
            _reason("class_i_min_liability", liability_fen, f"< {rules.class_i_min_liability}"),
        ),
        (
            industry in rules.class_i_sectors,
            _reason("class_i_sectors", industry, f"in {sectors}"),
            _reason("class_i_sectors", industry, f"not in {sectors}"),
        ),
        (
            recently_red,
            _reason("class_i_red_within_days", days_since_red, f"< {red_within} days ago"),
            _reason("class_i_red_within_days", days_since_red, f"null or >= {red_within}"),
        ),
    ]
    met = [yes for hit, yes, _ in checks if hit]
    if met:
        return "I", met
    return "II", [no for _, _, no in checks]


@dataclass(frozen=True)
class Finding:
    """One inspection's result at the merchant."""

    kind: str
    """"none", "minor" or "serious"."""
    found_on: date
    rectified_on: date | None = None
    """When the regulator accepted the rectification of a minor finding."""

    def __post_init__(self):
        if self.kind not in FINDINGS:
            raise ValueError(f"a finding is one of {FINDINGS}, not {self.kind!r}")


class CountedFindings(NamedTuple):
    minor: int
    serious: int


def counted_findings(
    findings: Iterable[Finding], today: date, rules: InspectionRules
) -> CountedFindings:
    """The findings that still count against the credit grade (信用修复): a minor one until
    `rectification_repair_days` days after its rectification, a serious one for
    `credit_d_serious_finding_days` days after it was found."""
    minor = serious = 0
    for finding in findings:
        if finding.kind == "minor":
            repaired = (
                finding.rectified_on is not None
                and (today - finding.rectified_on).days >= rules.rectification_repair_days
            )
            minor += not repaired
        elif finding.kind == "serious":
            serious += (today - finding.found_on).days < rules.credit_d_serious_finding_days
    return CountedFindings(minor, serious)


@dataclass(frozen=True)
class CreditFacts:
    """What the credit grade is computed from; the caller counts over the policy's windows."""

    code: str
    """The health code now: "green", "yellow" or "red"."""
    status: str
    """The merchant's status ("active", "defaulted", "delisted", ...)."""
    flags: tuple[str, ...] = ()
    days_since_red: int | None = None
    """Days since the merchant was last red: 0 = today, None = never."""
    yellow_days: int = 0
    """Days yellow in the last `credit_c_yellow_window_days`."""
    green_days: int = 0
    """Days green without a break, up to today."""
    upheld_complaints: int = 0
    """Upheld complaints in the last `credit_a_complaint_window_days`."""
    counted: CountedFindings = field(default_factory=lambda: CountedFindings(0, 0))
    """From `counted_findings`."""


def credit_grade(facts: CreditFacts, rules: InspectionRules) -> tuple[str, list[dict]]:
    """D, C, A or B with the reasons (see the module's docstring for the order)."""
    d = [
        (facts.code == "red", _reason("code", facts.code, "red now")),
        (
            facts.status in rules.credit_d_statuses,
            _reason("credit_d_statuses", facts.status, f"in {', '.join(rules.credit_d_statuses)}"),
        ),
        *(
            (True, _reason("credit_d_flags", flag, f"in {', '.join(rules.credit_d_flags)}"))
            for flag in sorted(set(facts.flags) & set(rules.credit_d_flags))
        ),
        (
            facts.counted.serious > 0,
            _reason(
                "credit_d_serious_finding_days",
                facts.counted.serious,
                f"a serious finding in the last {rules.credit_d_serious_finding_days} days",
            ),
        ),
    ]
    red_within = rules.credit_c_red_within_days
    c = [
        (
            facts.days_since_red is not None and facts.days_since_red < red_within,
            _reason("credit_c_red_within_days", facts.days_since_red, f"< {red_within} days ago"),
        ),
        (
            facts.yellow_days >= rules.credit_c_min_yellow_days,
            _reason(
                "credit_c_min_yellow_days",
                facts.yellow_days,
                f">= {rules.credit_c_min_yellow_days} of the last "
                f"{rules.credit_c_yellow_window_days} days",
            ),
        ),
        (
            facts.counted.minor >= rules.credit_c_min_minor_findings,
            _reason(
                "credit_c_min_minor_findings",
                facts.counted.minor,
                f">= {rules.credit_c_min_minor_findings} counted minor findings",
            ),
        ),
    ]
    for grade, checks in (("D", d), ("C", c)):
        met = [reason for hit, reason in checks if hit]
        if met:
            return grade, met
    green_days = facts.green_days if facts.code == "green" else 0
    a = [
        (
            green_days >= rules.credit_a_min_green_days,
            _reason("credit_a_min_green_days", green_days, f">= {rules.credit_a_min_green_days}"),
        ),
        (
            facts.upheld_complaints <= rules.credit_a_max_upheld_complaints,
            _reason(
                "credit_a_max_upheld_complaints",
                facts.upheld_complaints,
                f"<= {rules.credit_a_max_upheld_complaints} in the last "
                f"{rules.credit_a_complaint_window_days} days",
            ),
        ),
        (
            facts.counted.minor <= rules.credit_a_max_minor_findings,
            _reason(
                "credit_a_max_minor_findings",
                facts.counted.minor,
                f"<= {rules.credit_a_max_minor_findings} counted minor findings",
            ),
        ),
    ]
    if all(hit for hit, _ in a):
        return "A", [reason for _, reason in a]
    return "B", [reason for hit, reason in a if not hit]


def tier(risk: str, grade: str) -> str:
    """综合评价档次: class II keeps its credit grade, class I is one step worse, D stays D."""
    if risk not in RISK_CLASSES or grade not in TIERS:
        raise ValueError(f"no tier for class {risk!r} and grade {grade!r}")
    step = 1 if risk == "I" else 0
    return TIERS[min(TIERS.index(grade) + step, len(TIERS) - 1)]


def quota(tier_: str, rules: InspectionRules) -> int:
    """On-site visits a year; one beyond it needs a recorded reason."""
    return rules.quota_per_year[tier_]


def sampling_percent(tier_: str, rules: InspectionRules) -> int:
    """Percent of the tier's eligible merchants the year's random draws pick."""
    return rules.sampling_percent[tier_]


def white_listable(tier_: str) -> bool:
    """Only a tier-A merchant may be white-listed (no routine inspection)."""
    return tier_ == "A"


def routine_mode(tier_: str) -> str:
    """无感监管: tiers A and B get a data check, C and D a visit."""
    if tier_ not in TIERS:
        raise ValueError(f"no tier {tier_!r}")
    return "data" if tier_ in DATA_CHECK_TIERS else "visit"


@dataclass(frozen=True)
class Classification:
    """The `inspection` object of GET /merchants/{id}, with the reasons."""

    risk_class: str
    credit_grade: str
    tier: str
    white_listed: bool
    quota_year: int
    visits_this_year: int
    reasons: tuple[dict, ...]

    def as_dict(self) -> dict:
        return {
            "risk_class": self.risk_class,
            "credit_grade": self.credit_grade,
            "tier": self.tier,
            "white_listed": self.white_listed,
            "quota_year": self.quota_year,
            "visits_this_year": self.visits_this_year,
            "reasons": [dict(reason) for reason in self.reasons],
        }


def classify(
    liability_fen: int,
    industry: str,
    facts: CreditFacts,
    *,
    white_listed: bool,
    visits_this_year: int,
    rules: InspectionRules,
) -> Classification:
    """The whole classification. A white-listing holds only while the merchant is tier A: one
    that drops to B or worse is no longer white-listed (its reasons say so)."""
    risk, risk_reasons = risk_class(liability_fen, industry, facts.days_since_red, rules)
    grade, grade_reasons = credit_grade(facts, rules)
    tier_ = tier(risk, grade)
    reasons = [
        *risk_reasons,
        *grade_reasons,
        _reason("tier", f"{risk}/{grade}", "class II keeps the grade, class I one step worse"),
    ]
    if white_listed and not white_listable(tier_):
        reasons.append(_reason("white_list", tier_, "tier A only: lapsed"))
    return Classification(
        risk_class=risk,
        credit_grade=grade,
        tier=tier_,
        white_listed=white_listed and white_listable(tier_),
        quota_year=quota(tier_, rules),
        visits_this_year=visits_this_year,
        reasons=tuple(reasons),
    )
