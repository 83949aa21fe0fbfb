"""A merchant's health over time: the thresholds a chart draws beside each indicator.

Stdlib only. Each entry says which way is good (`higher_is_better`), the limit a green code
needs (`green`) and, where there is one, the limit past which the code is red at once
(`red`), in the indicator's own unit.
"""

from __future__ import annotations

from services.risk.domain.health_code import RiskRules


def thresholds(rules: RiskRules) -> dict[str, dict]:
    def line(higher_is_better: bool, green: int | None, red: int | None = None) -> dict:
        return {"higher_is_better": higher_is_better, "green": green, "red": red}

    return {
        "coverage_percent": line(
            True, rules.green_min_coverage_percent, rules.hard_min_coverage_percent
        ),
        "liability_months_x100": line(False, rules.green_max_liability_months * 100),
        "spike_percent": line(False, rules.green_max_spike_ratio_percent),
        # Green needs the rate strictly below these.
        "refund_rate_per_mille": line(False, rules.green_max_refund_rate_per_mille),
        "complaints_per_thousand_cards": line(
            False,
            rules.green_max_complaints_per_thousand_cards,
            rules.hard_complaint_surge_per_thousand_cards,
        ),
        "dormancy_days": line(False, None, rules.hard_max_dormancy_days),
    }
