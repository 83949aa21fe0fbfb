"""The inspection service's events (`inspection.*.v1`). Ids and figures only: no personal data.

The classification's two come first; the plans', draws' and visits' follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class ClassificationChanged:
    """A merchant's risk class, credit grade, tier or white-listing changed (never written for
    a change of the reasons' values alone, such as one more green day)."""

    TYPE: ClassVar[str] = "inspection.ClassificationChanged.v1"
    merchant_id: str
    risk_class: str
    credit_grade: str
    tier: str
    white_listed: bool
    quota_year: int
    reasons: list
    """[{rule, value, threshold}], as Classification.reasons."""
    at: str


@dataclass(frozen=True)
class WhiteListChanged:
    """A regulator put a tier-A merchant on the white list (no routine inspection) or took it
    off; `by` is the regulator's actor id."""

    TYPE: ClassVar[str] = "inspection.WhiteListChanged.v1"
    merchant_id: str
    white_listed: bool
    reason: str
    by: str
    at: str


CLASSIFICATION_EVENTS = (ClassificationChanged, WhiteListChanged)
