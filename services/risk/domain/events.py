"""The risk service's events, stored under stable versioned names.

Complaint texts and responses are personal data: they are carried only encrypted with the
complaining consumer's own key (`..._encrypted`), so forgetting that consumer erases them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class ComplaintFiled:
    TYPE: ClassVar[str] = "risk.ComplaintFiled.v1"
    complaint_id: str
    merchant_id: str
    card_id: str | None
    consumer_id: str
    category: str
    text_encrypted: str
    filed_at: str


@dataclass(frozen=True)
class ComplaintResponded:
    TYPE: ClassVar[str] = "risk.ComplaintResponded.v1"
    complaint_id: str
    merchant_id: str
    response_encrypted: str
    responded_at: str


@dataclass(frozen=True)
class ComplaintResolved:
    """Closed: accepted by the consumer, or settled by a regulator."""

    TYPE: ClassVar[str] = "risk.ComplaintResolved.v1"
    complaint_id: str
    merchant_id: str
    resolved_by: str
    outcome: str
    resolved_at: str


@dataclass(frozen=True)
class ComplaintEscalated:
    """To the regulator: by the consumer, or because the merchant did not answer in time."""

    TYPE: ClassVar[str] = "risk.ComplaintEscalated.v1"
    complaint_id: str
    merchant_id: str
    escalated_by: str
    reason: str
    escalated_at: str


@dataclass(frozen=True)
class ComplaintRuledUnfounded:
    """A regulator found the complaint unfounded: it stops counting toward the merchant's
    complaint rate and surge. An open complaint is resolved by the same ruling."""

    TYPE: ClassVar[str] = "risk.ComplaintRuledUnfounded.v1"
    complaint_id: str
    merchant_id: str
    ruled_by: str
    ruling_note: str
    ruled_at: str


@dataclass(frozen=True)
class HealthCodeChanged:
    TYPE: ClassVar[str] = "risk.HealthCodeChanged.v1"
    merchant_id: str
    code: str
    previous: str
    reasons: list
    """[{indicator, value, threshold}] that decided it."""
    metrics: dict
    evaluated_at: str


@dataclass(frozen=True)
class AlertOpened:
    TYPE: ClassVar[str] = "risk.AlertOpened.v1"
    alert_id: str
    merchant_id: str
    code: str
    reasons: list
    opened_at: str
    improve_by: str | None
    """For a red code: the deadline to improve, after which the merchant is delisted."""


@dataclass(frozen=True)
class AlertStepRecorded:
    """The regulator's workflow: acknowledged, verified (offline, with a note and the hash of
    the evidence), then resolved with a disposition."""

    TYPE: ClassVar[str] = "risk.AlertStepRecorded.v1"
    alert_id: str
    merchant_id: str
    step: str
    by: str
    at: str
    note: str
    evidence_sha256: str | None
    disposition: str | None
    department: str = ""
    """The regulator's department (auth token), empty for steps recorded before departments."""


@dataclass(frozen=True)
class AlertAssigned:
    """A regulator gave the alert to an officer (`assignee`)."""

    TYPE: ClassVar[str] = "risk.AlertAssigned.v1"
    alert_id: str
    merchant_id: str
    assignee: str
    by: str
    department: str
    at: str


@dataclass(frozen=True)
class MerchantDelistingDue:
    """A red merchant's deadline passed without improvement: delisting was asked of the
    merchant service."""

    TYPE: ClassVar[str] = "risk.MerchantDelistingDue.v1"
    merchant_id: str
    alert_id: str
    deadline: str
    code: str
    decided_at: str


@dataclass(frozen=True)
class SpendRated:
    """A consumer's rating (好差评) of a spend they confirmed: 1 to 5 stars and a short text,
    carried only encrypted with the consumer's key."""

    TYPE: ClassVar[str] = "risk.SpendRated.v1"
    rating_id: str
    redemption_id: str
    merchant_id: str
    consumer_id: str
    stars: int
    text_encrypted: str
    """Empty when the consumer wrote no text."""
    rated_at: str


RISK_EVENTS = (
    ComplaintFiled,
    ComplaintResponded,
    ComplaintResolved,
    ComplaintEscalated,
    ComplaintRuledUnfounded,
    HealthCodeChanged,
    AlertOpened,
    AlertStepRecorded,
    AlertAssigned,
    MerchantDelistingDue,
    SpendRated,
)
