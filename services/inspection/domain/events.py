"""The inspection service's events, stored under stable versioned names (`inspection.*.v1`).

They carry ids, dates, findings and hashes only: no names, no personal data. A plan's eligible
list (up to ~10k merchants) is not in any event: PlanCommitted carries its hash, the plan's
view keeps the list, and the draw's answer returns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

# --- the classification ----------------------------------------------------------------


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


# --- the roster, plans and the draw --------------------------------------------------------


@dataclass(frozen=True)
class InspectorEnrolled:
    TYPE: ClassVar[str] = "inspection.InspectorEnrolled.v1"
    inspector_id: str
    department: str
    conflicts: list
    blocked: bool
    by: str
    at: str


@dataclass(frozen=True)
class PlanCommitted:
    """The seed's SHA-256 and the eligible list's hash, before the draw. The ledger
    notarises this event; the draw waits for its receipt."""

    TYPE: ClassVar[str] = "inspection.PlanCommitted.v1"
    plan_id: str
    department: str
    period: str
    kind: str
    seed_commitment: str
    eligible_hash: str
    merchants: int
    inspectors: int
    by: str
    at: str
    reason: str = ""
    """Why a special plan (a complaint, a campaign); on record with the commitment."""


@dataclass(frozen=True)
class PlanDrawn:
    """The seed, published, and what the draw chose (services.inspection.domain.draw)."""

    TYPE: ClassVar[str] = "inspection.PlanDrawn.v1"
    plan_id: str
    seed: str
    inspections: list
    unstaffed: list
    at: str


# --- 无感监管: data checks, and the visits their failures raise ----------------------------


@dataclass(frozen=True)
class DataCheckRecorded:
    TYPE: ClassVar[str] = "inspection.DataCheckRecorded.v1"
    inspection_id: str
    merchant_id: str
    checks: list
    passed: bool
    at: str


@dataclass(frozen=True)
class VisitRaised:
    TYPE: ClassVar[str] = "inspection.VisitRaised.v1"
    inspection_id: str
    merchant_id: str
    plan_id: str
    reason: str
    inspectors: list
    at: str


# --- e码查 visits, results and 一公开 -------------------------------------------------------


@dataclass(frozen=True)
class CheckedIn:
    TYPE: ClassVar[str] = "inspection.CheckedIn.v1"
    inspection_id: str
    merchant_id: str
    inspector_id: str
    over_quota: bool
    at: str


@dataclass(frozen=True)
class ResultRecorded:
    TYPE: ClassVar[str] = "inspection.ResultRecorded.v1"
    inspection_id: str
    merchant_id: str
    finding: str
    note: str
    rectification_due: str | None
    referral: bool
    by: str
    at: str


@dataclass(frozen=True)
class RectificationSubmitted:
    TYPE: ClassVar[str] = "inspection.RectificationSubmitted.v1"
    inspection_id: str
    merchant_id: str
    evidence_sha256: str
    note: str
    at: str


@dataclass(frozen=True)
class RectificationAccepted:
    TYPE: ClassVar[str] = "inspection.RectificationAccepted.v1"
    inspection_id: str
    merchant_id: str
    by: str
    at: str


@dataclass(frozen=True)
class ResultPublished:
    TYPE: ClassVar[str] = "inspection.ResultPublished.v1"
    inspection_id: str
    merchant_id: str
    department: str
    mode: str
    finding: str
    status: str
    at: str


PLAN_EVENTS: tuple[type, ...] = (
    InspectorEnrolled,
    PlanCommitted,
    PlanDrawn,
    DataCheckRecorded,
    VisitRaised,
    CheckedIn,
    ResultRecorded,
    RectificationSubmitted,
    RectificationAccepted,
    ResultPublished,
)
"""The roster's, plans' and inspections' events (the classification's are listed beside
them by the store's codec, which takes every event class of this module)."""
