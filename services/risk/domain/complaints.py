"""Complaints and the regulator's alerts: state from events, and the rules that decide.

A complaint is open until resolved; the merchant may respond once, the consumer may accept
(resolved) or escalate, and a regulator may find it unfounded, which resolves it if still
open and takes it out of the merchant's figures. One consumer may file only so many
complaints against one merchant in a window. An alert goes open -> acknowledged ->
(verified ->) resolved, each step by a named regulator at a time, and cannot go back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.domain_errors import BusinessRuleViolation, Conflict, InvalidInput
from services.risk.domain.events import (
    AlertAssigned,
    AlertOpened,
    AlertStepRecorded,
    ComplaintEscalated,
    ComplaintFiled,
    ComplaintResolved,
    ComplaintResponded,
    ComplaintRuledUnfounded,
)

CATEGORIES = (
    "refused_refund",
    "service_not_provided",
    "closure_or_relocation",
    "misleading_sale",
    "quality",
    "other",
)
DISPOSITIONS = ("verified_ok", "rectification_ordered", "public_warning", "delisted")
# The step and the statuses it may follow. The contract's clients resolve right after
# acknowledging; verification (note and evidence hash) is a step they may record between.
ALERT_STEPS = {
    "acknowledged": ("open",),
    "verified": ("acknowledged",),
    "resolved": ("acknowledged", "verified"),
}


@dataclass
class Complaint:
    complaint_id: str
    merchant_id: str = ""
    consumer_id: str = ""
    status: str = "none"
    responded: bool = False
    unfounded: bool = False
    version: int = 0

    def apply(self, event) -> None:
        if isinstance(event, ComplaintFiled):
            self.merchant_id, self.consumer_id, self.status = (
                event.merchant_id,
                event.consumer_id,
                "open",
            )
        elif isinstance(event, ComplaintResponded):
            self.responded = True
        elif isinstance(event, ComplaintEscalated):
            self.status = "escalated"
        elif isinstance(event, ComplaintResolved):
            self.status = "resolved"
        elif isinstance(event, ComplaintRuledUnfounded):
            self.unfounded = True
        self.version += 1


def file_complaint(
    complaint_id: str,
    *,
    merchant_id: str,
    card_id: str | None,
    consumer_id: str,
    category: str,
    text_encrypted: str,
    now: str,
) -> ComplaintFiled:
    if category not in CATEGORIES:
        raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}", "invalid_category")
    return ComplaintFiled(
        complaint_id, merchant_id, card_id, consumer_id, category, text_encrypted, now
    )


def consumer_actions(status: str) -> list[str]:
    """What the complaining consumer may do next: resolve an open or escalated complaint,
    escalate an open one."""
    return {"open": ["resolve", "escalate"], "escalated": ["resolve"]}.get(status, [])


def recent_filings(filed: list[str], now: datetime, *, limit: int, window_days: int) -> list[str]:
    """The times (ISO) one consumer filed against one merchant that are still within the
    window; refuses a new complaint when `limit` of them are."""
    since = now - timedelta(days=window_days)
    recent = [at for at in filed if datetime.fromisoformat(at) > since]
    if len(recent) >= limit:
        raise BusinessRuleViolation(
            f"at most {limit} complaints against one merchant in {window_days} days; add to "
            "an open one instead",
            "complaint_limit_reached",
            {
                "limit": limit,
                "window_days": window_days,
                "next_allowed_at": (
                    datetime.fromisoformat(min(recent)) + timedelta(days=window_days)
                ).isoformat(),
            },
        )
    return recent


def respond(complaint: Complaint, response_encrypted: str, now: str) -> ComplaintResponded:
    if complaint.status == "resolved":
        raise Conflict("the complaint is resolved", "complaint_closed")
    if complaint.responded:
        raise Conflict("the merchant has responded already", "already_responded")
    return ComplaintResponded(
        complaint.complaint_id, complaint.merchant_id, response_encrypted, now
    )


def escalate(complaint: Complaint, by: str, reason: str, now: str) -> ComplaintEscalated | None:
    if complaint.status == "escalated":
        return None
    if complaint.status != "open":
        raise Conflict(f"the complaint is {complaint.status}", "complaint_closed")
    return ComplaintEscalated(complaint.complaint_id, complaint.merchant_id, by, reason, now)


def resolve(complaint: Complaint, by: str, outcome: str, now: str) -> ComplaintResolved | None:
    if complaint.status == "resolved":
        return None
    return ComplaintResolved(complaint.complaint_id, complaint.merchant_id, by, outcome, now)


def rule_unfounded(
    complaint: Complaint, by: str, note: str, now: str
) -> list[ComplaintResolved | ComplaintRuledUnfounded]:
    """The regulator's finding that a complaint is unfounded; a repeat changes nothing. An
    open or escalated complaint is resolved by it (so a card it held back is released)."""
    if complaint.unfounded:
        return []
    if not note.strip():
        raise InvalidInput("a finding of unfounded needs a note saying why", "note_required")
    events: list[ComplaintResolved | ComplaintRuledUnfounded] = []
    if complaint.status != "resolved":
        events.append(
            ComplaintResolved(complaint.complaint_id, complaint.merchant_id, by, "unfounded", now)
        )
    events.append(
        ComplaintRuledUnfounded(
            complaint.complaint_id, complaint.merchant_id, by, note.strip(), now
        )
    )
    return events


@dataclass
class Alert:
    alert_id: str
    merchant_id: str = ""
    code: str = ""
    status: str = "none"
    opened_at: str = ""
    improve_by: str | None = None
    disposition: str | None = None
    assignee: str | None = None
    version: int = 0

    def apply(self, event) -> None:
        if isinstance(event, AlertAssigned):
            self.assignee = event.assignee
        elif isinstance(event, AlertOpened):
            self.merchant_id, self.code, self.status = event.merchant_id, event.code, "open"
            self.opened_at, self.improve_by = event.opened_at, event.improve_by
        elif isinstance(event, AlertStepRecorded):
            self.status = event.step
            self.disposition = event.disposition or self.disposition
        self.version += 1


def alert_step(
    alert: Alert,
    step: str,
    *,
    by: str,
    now: str,
    note: str = "",
    evidence_sha256: str | None = None,
    disposition: str | None = None,
    department: str = "",
) -> AlertStepRecorded | None:
    if step not in ALERT_STEPS:
        raise InvalidInput(f"step must be one of {', '.join(ALERT_STEPS)}", "invalid_step")
    if alert.status == step and (step != "resolved" or alert.disposition == disposition):
        return None  # the same step again changes nothing
    if alert.status not in ALERT_STEPS[step]:
        raise Conflict(
            f"an {alert.status} alert cannot be {step}",
            "invalid_transition",
            {"status": alert.status},
        )
    if step == "verified" and (not note.strip() or not _is_sha256(evidence_sha256)):
        raise InvalidInput(
            "verification needs a note and the evidence's SHA-256", "verification_incomplete"
        )
    if step == "resolved" and disposition not in DISPOSITIONS:
        raise InvalidInput(
            f"disposition must be one of {', '.join(DISPOSITIONS)}", "invalid_disposition"
        )
    if (
        step == "resolved"
        and disposition in ("public_warning", "delisted")
        and not alert.merchant_id
    ):
        raise BusinessRuleViolation(
            "this alert is about no merchant: a public warning or delisting cannot apply",
            "alert_has_no_merchant",
        )
    return AlertStepRecorded(
        alert.alert_id,
        alert.merchant_id,
        step,
        by,
        now,
        note.strip(),
        evidence_sha256,
        disposition if step == "resolved" else None,
        department,
    )


def _is_sha256(value: str | None) -> bool:
    return value is not None and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
