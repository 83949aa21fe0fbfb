"""The risk service's views, kept in the unit of work that appends the events they show.

complaints                 complaint id -> the complaint, without its encrypted texts
complaints_by_merchant     "<merchant id>/<filed_at>|<complaint id>" -> {complaint_id}
complaints_by_consumer     "<consumer id>/<newest first>|<complaint id>" -> {complaint_id}:
                           a consumer's own list
complaints_by_complainant  "<consumer id>/<merchant id>" -> {"filed": [when, ...]}, the
                           filings within the policy's window (the complaint limit)
alerts                     alert id -> the alert with its steps, assignee and disposition
alert_queue                "<facet>|<value>|<status>|<code>|<opened_at UTC>|<alert id>" ->
                           {alert_id}: the regulators' queue, one key per facet (all,
                           industry, department, assignee), see domain/alerts.py; a page
                           reads its alerts from `alerts` by id (a store from before kept
                           the whole alert under each key: it is not read)
risk_figures, health_codes, delisting_deadlines
                           a merchant's figures, its code, a red code's deadline
                           (kept by assessment.py)
"""

from __future__ import annotations

from collections.abc import Sequence

from eventstore import EventStore, UnitOfWork
from eventstore.codec import event_fields
from services.paging import newest_first
from services.risk.domain.alerts import queue_keys
from services.risk.domain.complaints import Alert, Complaint
from services.risk.domain.events import AlertAssigned, AlertStepRecorded

COMPLAINTS, BY_MERCHANT = "complaints", "complaints_by_merchant"
COMPLAINANTS = "complaints_by_complainant"
BY_CONSUMER = "complaints_by_consumer"
FIGURES, CODES, ALERTS, QUEUE, DEADLINES = (
    "risk_figures",
    "health_codes",
    "alerts",
    "alert_queue",
    "delisting_deadlines",
)


def project(uow: UnitOfWork, aggregate: Complaint | Alert, events: Sequence[object]) -> None:
    """Applies the events to the complaint or alert and keeps its views."""
    if isinstance(aggregate, Complaint):
        for event in events:
            _complaint(uow, aggregate, event)
    else:
        for event in events:
            _alert(uow, aggregate, event)


def _complaint(uow: UnitOfWork, complaint: Complaint, event: object) -> None:
    complaint.apply(event)
    before = uow.get_view(COMPLAINTS, complaint.complaint_id)
    view = {
        **(before or {}),
        **{k: v for k, v in event_fields(event).items() if not k.endswith("_encrypted")},
        "status": complaint.status,
        "responded": complaint.responded,
        "unfounded": complaint.unfounded,
    }
    uow.put_view(COMPLAINTS, complaint.complaint_id, view)
    if before is None:
        uow.put_view(
            BY_MERCHANT,
            f"{complaint.merchant_id}/{view['filed_at']}|{complaint.complaint_id}",
            {"complaint_id": complaint.complaint_id},
        )
        _index_for_consumer(uow, view)


def _consumer_key(view: dict) -> str:
    return f"{view['consumer_id']}/{newest_first(view['filed_at'])}|{view['complaint_id']}"


def _index_for_consumer(uow: UnitOfWork, view: dict) -> None:
    uow.put_view(BY_CONSUMER, _consumer_key(view), {"complaint_id": view["complaint_id"]})


def backfill_consumer_index(store: EventStore, batch: int = 500) -> int:
    """Lists every complaint under its consumer that is not yet (a store from before those
    lists existed)."""
    indexed, cursor = 0, ""
    while rows := store.list_views(COMPLAINTS, cursor, batch):
        cursor = rows[-1][0]
        missing = [
            view for _, view in rows if store.get_view(BY_CONSUMER, _consumer_key(view)) is None
        ]
        if missing:
            with store.unit_of_work() as uow:
                for view in missing:
                    _index_for_consumer(uow, view)
            indexed += len(missing)
        if len(rows) < batch:
            break
    return indexed


def put_alert(uow: UnitOfWork, alert: dict, before: dict | None = None) -> None:
    """Keeps the alert and its queue keys: the keys it no longer has go, its new ones are put
    (a key it keeps is left as it is). A key holds only the alert's id: the alert is written
    once, and a page of the queue reads the alerts it lists by id."""
    if alert != before:
        uow.put_view(ALERTS, alert["alert_id"], alert)
    keys = queue_keys(alert)
    kept = queue_keys(before) if before else []
    for key in kept:
        if key not in keys:
            uow.delete_view(QUEUE, key)
    for key in keys:
        if key not in kept:
            uow.put_view(QUEUE, key, {"alert_id": alert["alert_id"]})


def _alert(uow: UnitOfWork, alert: Alert, event: object) -> None:
    """A regulator's step or assignment; the alert's opening is projected by what opens it."""
    alert.apply(event)
    if not isinstance(event, AlertStepRecorded | AlertAssigned):
        return
    view = uow.get_view(ALERTS, alert.alert_id)
    if view is None:
        raise LookupError(f"alert {alert.alert_id} was never opened")
    if isinstance(event, AlertAssigned):
        assignment = {k: getattr(event, k) for k in ("assignee", "by", "department", "at")}
        after = {
            **view,
            "assignee": event.assignee,
            "assignments": view.get("assignments", []) + [assignment],
        }
    else:
        step = {
            k: getattr(event, k)
            for k in ("step", "by", "department", "at", "note", "evidence_sha256", "disposition")
        }
        after = {
            **view,
            "status": event.step,
            "disposition": event.disposition or view["disposition"],
            "steps": view["steps"] + [step],
        }
    put_alert(uow, after, view)


MARKERS = "risk_backfills"
"""One row per one-off fill of a view added after stores existed: done, and when."""


def view_pages(store: EventStore, view: str, batch: int):
    """The rows of a whole view, a page of `batch` at a time (for the one-off fills)."""
    cursor = ""
    while page := store.list_views(view, cursor, batch):
        yield page
        cursor = page[-1][0]
        if len(page) < batch:
            return
