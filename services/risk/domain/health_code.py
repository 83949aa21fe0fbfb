"""The 预付健康码: green, yellow or red, from the indicators, the policy's thresholds, hard flags
and hysteresis. Stdlib only.

* A soft breach is a green requirement not met; a hard flag is a listing, a notice, a default
  or delisting, dormancy with money owed, coverage below the floor, or a complaint surge.
* Worse codes apply at once: any soft breach is yellow; a hard flag is red, and so are two or
  more soft breaches on consecutive evaluation days.
* Better codes come one level at a time, and only after the merchant has been within the
  better level's limits for a full short window.

An evaluation day is a calendar day (event time) on which the merchant was evaluated; several
evaluations on one day count as that day's, the last one deciding it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from services.risk.domain.indicators import Indicators

LEVELS = ("green", "yellow", "red")
HARD_FLAGS = (
    "dishonest_debtor",
    "abnormal_operations",
    "deregistering",
    "closure_notice",
    "relocation_notice",
)
# A merchant in one of these statuses is red whatever its figures say: a default is declared
# when the money is already in trouble, often before any indicator has turned.
HARD_STATUSES = ("defaulted", "delisted")


@dataclass(frozen=True)
class RiskRules:
    window_short_days: int = 30
    window_long_days: int = 90
    green_min_coverage_percent: int = 100
    green_max_liability_months: int = 6
    green_max_spike_ratio_percent: int = 200
    green_max_refund_rate_per_mille: int = 50
    green_max_complaints_per_thousand_cards: int = 1
    hard_min_coverage_percent: int = 50
    hard_max_dormancy_days: int = 30
    hard_complaint_surge_per_thousand_cards: int = 10
    hard_complaint_surge_min_complaints: int = 5
    hard_complaint_surge_days: int = 7
    complaint_limit_per_consumer_per_merchant: int = 3
    complaint_limit_window_days: int = 30
    red_soft_breaches: int = 2
    red_consecutive_evaluations: int = 2
    red_grace_days: int = 30

    @classmethod
    def from_policy(cls, risk: Mapping[str, Any]) -> RiskRules:
        # [risk.alerts] is the alert queue's (domain/alerts.py AlertRules)
        return cls(**{k: v for k, v in risk.items() if k != "alerts"})


def _reason(indicator: str, value, threshold: str) -> dict:
    return {"indicator": indicator, "value": value, "threshold": threshold}


def soft_breaches(ind: Indicators, rules: RiskRules) -> list[dict]:
    breaches = []
    if ind.coverage_percent is not None and ind.coverage_percent < rules.green_min_coverage_percent:
        breaches.append(
            _reason(
                "escrow_coverage_percent",
                ind.coverage_percent,
                f">= {rules.green_min_coverage_percent}",
            )
        )
    months = rules.green_max_liability_months
    # A merchant younger than the short window has sold ahead of a month of redemptions: its
    # liability says little yet, whether nothing or a little was redeemed. Dormancy and
    # coverage watch it meanwhile.
    judged = ind.observed_days >= rules.window_short_days
    if judged and (ind.liability_months_x100 is None or ind.liability_months_x100 > months * 100):
        breaches.append(
            _reason(
                "months_of_liability_x100",
                ind.liability_months_x100,
                f"<= {months * 100} (null: money owed, nothing redeemed)",
            )
        )
    if ind.spike_percent > rules.green_max_spike_ratio_percent:
        breaches.append(
            _reason(
                "issuance_spike_percent",
                ind.spike_percent,
                f"<= {rules.green_max_spike_ratio_percent}",
            )
        )
    if ind.refund_rate_per_mille >= rules.green_max_refund_rate_per_mille:
        breaches.append(
            _reason(
                "refund_rate_per_mille",
                ind.refund_rate_per_mille,
                f"< {rules.green_max_refund_rate_per_mille}",
            )
        )
    if ind.complaints_per_thousand_cards >= rules.green_max_complaints_per_thousand_cards:
        breaches.append(
            _reason(
                "complaint_rate_per_thousand_cards",
                ind.complaints_per_thousand_cards,
                f"< {rules.green_max_complaints_per_thousand_cards}",
            )
        )
    return breaches


def hard_flags(
    ind: Indicators,
    flags: set[str],
    complaints_recent: int,
    rules: RiskRules,
    status: str = "active",
) -> list[dict]:
    """`complaints_recent`: the complaints counted in the surge window (one per customer who
    complained, unfounded ones left out); `status`: the merchant's status."""
    found = [_reason(f"status:{status}", True, f"not {status}")] if status in HARD_STATUSES else []
    found += [
        _reason(f"flag:{flag}", True, "not listed") for flag in sorted(flags) if flag in HARD_FLAGS
    ]
    if ind.outstanding > 0 and ind.dormancy_days > rules.hard_max_dormancy_days:
        found.append(
            _reason(
                "dormancy_days",
                ind.dormancy_days,
                f"<= {rules.hard_max_dormancy_days} while money is owed",
            )
        )
    if ind.coverage_percent is not None and ind.coverage_percent < rules.hard_min_coverage_percent:
        found.append(
            _reason(
                "escrow_coverage_percent",
                ind.coverage_percent,
                f">= {rules.hard_min_coverage_percent}",
            )
        )
    surge_rate = complaints_recent * 1000 // max(1, ind.open_cards)
    if (
        complaints_recent >= rules.hard_complaint_surge_min_complaints
        and surge_rate >= rules.hard_complaint_surge_per_thousand_cards
    ):
        found.append(
            _reason(
                "complaint_surge_per_thousand_cards",
                surge_rate,
                f"< {rules.hard_complaint_surge_per_thousand_cards} (or fewer "
                f"than {rules.hard_complaint_surge_min_complaints} in "
                f"{rules.hard_complaint_surge_days} days)",
            )
        )
    return found


def deadline_applies(reasons) -> bool:
    """Whether a red code gets a deadline to improve before delisting: not when the merchant
    is defaulted or delisted already, as there is nothing left to delist."""
    return not any(r["indicator"].startswith("status:") for r in reasons)


@dataclass(frozen=True)
class CodeState:
    """One merchant's code and what hysteresis remembers between evaluations."""

    code: str = "green"
    since: str | None = None
    reasons: tuple = ()
    day: str | None = None
    """The last evaluation day, and the multi-breach streak up to the day before it."""
    streak_before: int = 0
    streak: int = 0
    better_since: str | None = None
    """Since when every evaluation has been better than `code`."""


def _is_status(reason: dict) -> bool:
    return str(reason.get("indicator", "")).startswith("status:")


def evaluate(
    state: CodeState, *, soft: list[dict], hard: list[dict], as_of: datetime, rules: RiskRules
) -> CodeState:
    """The next state; `code` changes only as the rules above allow."""
    day = as_of.date().isoformat()
    streak_before = state.streak if day != state.day else state.streak_before
    multi = len(soft) >= rules.red_soft_breaches
    streak = streak_before + 1 if multi else 0
    if hard or (multi and streak >= rules.red_consecutive_evaluations):
        target = "red"
    elif soft:
        target = "yellow"
    else:
        target = "green"
    reasons = tuple(hard + soft)
    moved = replace(state, day=day, streak_before=streak_before, streak=streak)
    current, wanted = LEVELS.index(state.code), LEVELS.index(target)
    if wanted > current:
        return replace(
            moved, code=target, since=as_of.isoformat(), reasons=reasons, better_since=None
        )
    if wanted == current:
        return replace(moved, reasons=reasons, better_since=None)
    if not hard and state.reasons and all(_is_status(r) for r in state.reasons):
        # Red only for a status a regulator has since lifted (a delisted merchant relisted):
        # the code is what the figures say at once, no window to wait out.
        return replace(
            moved, code=target, since=as_of.isoformat(), reasons=reasons, better_since=None
        )
    better_since = state.better_since or as_of.isoformat()
    held = as_of - datetime.fromisoformat(better_since)
    if held >= timedelta(days=rules.window_short_days):
        # One level up; the next level needs another full window within its limits.
        return replace(
            moved,
            code=LEVELS[current - 1],
            since=as_of.isoformat(),
            reasons=reasons,
            better_since=as_of.isoformat(),
        )
    return replace(moved, reasons=state.reasons, better_since=better_since)
