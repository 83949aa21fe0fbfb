"""无感监管 (德州: 无问题线索不现场检查): the data check that replaces a visit for tiers A and B.
Stdlib only (and the escrow's refund-due rule, itself stdlib only).

Four checks over the last `data_check_window_days` (today included), each
`{check, passed, value, threshold}` with integer values:

* `escrow_coverage`: escrow held / outstanding liability, percent rounded down; passes at
  `data_check_min_coverage_percent` or more, and when nothing is owed (value null).
* `reconciliation_differences`: differences of the escrow's daily reconciliations that name
  one of the merchant's payments or payouts, on days in the window; at most
  `data_check_max_differences`.
* `refunds_on_time`: refunds made in the window, or still unpaid, that the bank paid after
  their due day or has not paid by a due day already past (cooling-off: 5 working days,
  others 15 days, policy [refunds]); at most `data_check_max_late_refunds`.
* `complaint_response`: the longest time in whole hours from a complaint's filing (in the
  window) to the merchant's answer; one still unanswered counts the hours so far; at most
  `data_check_max_response_hours`; null (passes) with no complaint.

The check passes when all four do.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from services.escrow.domain.refund_due import refund_due_on
from services.inspection.domain.facts import MerchantFacts, hours_between
from services.inspection.domain.rules import InspectionRules

CHECKS = ("escrow_coverage", "reconciliation_differences", "refunds_on_time", "complaint_response")


def inputs_of(facts: MerchantFacts, now: datetime, rules: InspectionRules, refunds: Any) -> dict:
    """The figures the checks read, as of `now`; `refunds` is the policy's [refunds]."""
    today = now.date()
    first = (today - timedelta(days=rules.data_check_window_days - 1)).isoformat()
    late = considered = 0
    for refund in facts.refunds.values():
        made = refund["refunded_at"][:10]
        if made < first and refund["paid_on"] is not None:
            continue
        due = refund_due_on(refund["rule"], datetime.fromisoformat(refund["refunded_at"]), refunds)
        considered += 1
        paid = refund["paid_on"]
        late += (paid is not None and date.fromisoformat(paid) > due) or (
            paid is None and due < today
        )
    longest: int | None = None
    complaints = 0
    for complaint in facts.complaints.values():
        filed = complaint.get("filed")
        if not filed or filed[:10] < first or complaint.get("unfounded"):
            continue
        complaints += 1
        hours = hours_between(filed, complaint.get("responded") or now)
        longest = hours if longest is None else max(longest, hours)
    return {
        "merchant_id": facts.merchant_id,
        "as_of": now.isoformat(),
        "outstanding": max(facts.outstanding, 0),
        "escrow_held": max(facts.escrow_held, 0),
        "differences": sum(d["day"] >= first for d in facts.differences.values()),
        "refunds": considered,
        "late_refunds": late,
        "complaints": complaints,
        "longest_response_hours": longest,
    }


def _check(name: str, passed: bool, value: int | None, threshold: str) -> dict:
    return {"check": name, "passed": passed, "value": value, "threshold": threshold}


def run_checks(inputs: dict, rules: InspectionRules) -> tuple[bool, list[dict]]:
    """(passed, [{check, passed, value, threshold}]) in the order of CHECKS."""
    owed, held = inputs["outstanding"], inputs["escrow_held"]
    coverage = held * 100 // owed if owed > 0 else None
    minimum = rules.data_check_min_coverage_percent
    response = inputs["longest_response_hours"]
    max_hours = rules.data_check_max_response_hours
    checks = [
        _check(
            "escrow_coverage",
            coverage is None or coverage >= minimum,
            coverage,
            f">= {minimum} percent",
        ),
        _check(
            "reconciliation_differences",
            inputs["differences"] <= rules.data_check_max_differences,
            inputs["differences"],
            f"<= {rules.data_check_max_differences} in {rules.data_check_window_days} days",
        ),
        _check(
            "refunds_on_time",
            inputs["late_refunds"] <= rules.data_check_max_late_refunds,
            inputs["late_refunds"],
            f"<= {rules.data_check_max_late_refunds} in {rules.data_check_window_days} days",
        ),
        _check(
            "complaint_response",
            response is None or response <= max_hours,
            response,
            f"<= {max_hours} hours",
        ),
    ]
    return all(c["passed"] for c in checks), checks
