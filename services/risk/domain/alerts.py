"""The regulator's alert queue: the keys an alert is listed under, its SLA, and assignment.

An alert is listed once per facet (`all`, its `industry`, its `department`, its `assignee`),
under `<facet>|<value>|<status>|<code>|<opened_at>|<alert id>`, so each filter the queue
offers (status, code, at most one of industry/department/assignee, an opened_at range) is a
range of one key prefix, oldest first. The time part is UTC at fixed width, so key order is
time order whatever offset the alert was opened with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.domain_errors import Conflict, InvalidInput
from services.risk.domain.complaints import Alert
from services.risk.domain.events import AlertAssigned

FACETS = ("all", "industry", "department", "assignee")
STATUSES = ("open", "acknowledged", "verified", "resolved")
UNRESOLVED = ("open", "acknowledged", "verified")
CODES = ("yellow", "red")
UNASSIGNED = "none"
"""The assignee filter's value for alerts no one is assigned to."""
_ASSIGNEE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_.@-]{0,63}$")


@dataclass(frozen=True)
class AlertRules:
    """[risk.alerts]: hours a regulator has to dispose of an alert, by its code."""

    sla_hours_red: int = 24
    sla_hours_yellow: int = 72

    @classmethod
    def from_policy(cls, risk: Any) -> AlertRules:
        return cls(**dict(risk.get("alerts", {})))

    def hours(self, code: str) -> int:
        return self.sla_hours_red if code == "red" else self.sla_hours_yellow


def time_key(at: str) -> str:
    """An ISO 8601 time as UTC at fixed width (naive times are taken as UTC)."""
    moment = datetime.fromisoformat(at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def facet_values(alert: dict) -> list[tuple[str, str]]:
    return [
        ("all", ""),
        ("industry", alert.get("industry") or ""),
        ("department", alert.get("department") or ""),
        ("assignee", alert.get("assignee") or UNASSIGNED),
    ]


def tail(alert: dict) -> str:
    """The part of a queue key after the prefix: where a page of the queue resumes."""
    return f"{time_key(alert['opened_at'])}|{alert['alert_id']}"


def queue_keys(alert: dict) -> list[str]:
    return [
        f"{facet}|{value}|{alert['status']}|{alert['code']}|{tail(alert)}"
        for facet, value in facet_values(alert)
    ]


def prefixes(facet: str, value: str, status: str, code: str | None) -> list[str]:
    """The key prefixes whose union is the filter; `status` "any" is every unresolved one."""
    statuses = UNRESOLVED if status == "any" else (status,)
    codes = CODES if code is None else (code,)
    return [f"{facet}|{value}|{s}|{c}|" for s in statuses for c in codes]


def sla(code: str, opened_at: str, now: datetime, rules: AlertRules) -> dict:
    """Age, SLA, due time and overdue as of `now`."""
    opened = datetime.fromisoformat(opened_at)
    if opened.tzinfo is None:
        opened = opened.replace(tzinfo=UTC)
    hours = rules.hours(code)
    due = opened + timedelta(hours=hours)
    return {
        "age_hours": max(0, int((now - opened).total_seconds() // 3600)),
        "sla_hours": hours,
        "due_at": due.isoformat(),
        "overdue": now > due,
    }


def assign(alert: Alert, assignee: str, *, by: str, department: str, now: str):
    """Assigns the alert to an officer; the same officer again changes nothing."""
    if not _ASSIGNEE.match(assignee) or assignee == UNASSIGNED:
        raise InvalidInput(
            "assignee is 1 to 64 letters, digits or :_.@- and not 'none'", "invalid_assignee"
        )
    if alert.status == "resolved":
        raise Conflict("the alert is resolved", "alert_resolved", {"status": alert.status})
    if alert.assignee == assignee:
        return None
    return AlertAssigned(alert.alert_id, alert.merchant_id, assignee, by, department, now)
