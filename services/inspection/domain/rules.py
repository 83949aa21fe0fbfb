"""InspectionRules: the policy's [inspection] section, checked and frozen. Stdlib only.

`InspectionRules.from_policy(policy.inspection)` reads every key (a key nothing reads is a rule
the platform only pretends to apply), refuses unknown or missing ones, floats, negative numbers,
percentages outside 0..100, and tier tables that are not exactly A..D or that give a better
tier more visits or a larger sample than a worse one (the seed's "只能少不能多").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

from policy import PolicyError

TIERS = ("A", "B", "C", "D")
"""综合评价档次, best first."""
_NAMES = ("class_i_sectors", "credit_d_statuses", "credit_d_flags")
_TABLES = ("quota_per_year", "sampling_percent")


@dataclass(frozen=True)
class InspectionRules:
    class_i_min_liability: int
    class_i_sectors: tuple[str, ...]
    class_i_red_within_days: int
    credit_d_statuses: tuple[str, ...]
    credit_d_flags: tuple[str, ...]
    credit_d_serious_finding_days: int
    credit_c_red_within_days: int
    credit_c_yellow_window_days: int
    credit_c_min_yellow_days: int
    credit_c_min_minor_findings: int
    credit_a_min_green_days: int
    credit_a_complaint_window_days: int
    credit_a_max_upheld_complaints: int
    credit_a_max_minor_findings: int
    rectification_repair_days: int
    block_after_empty_visits: int
    merge_window_days: int
    publish_within_working_days: int
    code_valid_minutes: int
    """e码查: how long the merchant's signed code is good for."""
    data_check_window_days: int
    data_check_min_coverage_percent: int
    data_check_max_differences: int
    data_check_max_late_refunds: int
    data_check_max_response_hours: int
    quota_per_year: Mapping[str, int]
    """Tier -> on-site visits a year."""
    sampling_percent: Mapping[str, int]
    """Tier -> percent of the tier's eligible merchants drawn a year."""

    @classmethod
    def from_policy(cls, section: Mapping[str, Any]) -> InspectionRules:
        known = {f.name for f in fields(cls)}
        unknown, missing = set(section) - known, known - set(section)
        if unknown or missing:
            raise PolicyError(f"[inspection]: unknown {sorted(unknown)}, missing {sorted(missing)}")
        values: dict[str, Any] = {}
        for name in sorted(known):
            value = section[name]
            if name in _TABLES:
                values[name] = _tier_table(name, value)
            elif name in _NAMES:
                if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                    raise PolicyError(f"[inspection] {name} is a list of names")
                values[name] = tuple(value)
            else:
                values[name] = _count(name, value)
        rules = cls(**values)
        if rules.credit_c_min_yellow_days > rules.credit_c_yellow_window_days:
            raise PolicyError("[inspection] credit_c_min_yellow_days exceeds its window")
        counts = (
            rules.block_after_empty_visits,
            rules.credit_c_min_minor_findings,
            rules.data_check_window_days,
            rules.code_valid_minutes,
        )
        if min(counts) < 1:
            raise PolicyError(
                "[inspection] visit and finding counts, windows and code_valid_minutes"
                " must be at least 1"
            )
        return rules


def _count(name: str, value: object) -> int:
    if type(value) is not int or value < 0:
        raise PolicyError(f"[inspection] {name} must be a whole number >= 0, not {value!r}")
    return value


def _tier_table(name: str, table: Any) -> Mapping[str, int]:
    if not isinstance(table, Mapping) or set(table) != set(TIERS):
        raise PolicyError(f"[inspection.{name}] must give exactly the tiers {', '.join(TIERS)}")
    read = {tier: _count(f"{name}.{tier}", table[tier]) for tier in TIERS}
    if name == "sampling_percent" and read["D"] > 100:
        raise PolicyError(f"[inspection.{name}] percentages are 0..100")
    ordered = [read[tier] for tier in TIERS]
    if ordered != sorted(ordered):
        raise PolicyError(f"[inspection.{name}] a better tier may not get more than a worse one")
    return MappingProxyType(read)
