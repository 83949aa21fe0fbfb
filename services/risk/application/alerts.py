"""The regulators' alert queue: opening alerts (a worse code, an escalated complaint, a
reconciliation difference), assigning them, and reading the queue a page at a time.

Every alert carries its merchant's name, industry and sector department (from the merchant's
application, city.py), so the queue filters by them; its keys (domain/alerts.py) are kept in
the unit of work that changes the alert (projections.put_alert).
"""

from __future__ import annotations

import heapq
from datetime import datetime

from eventstore import EventStore, UnitOfWork
from eventstore.codec import event_fields
from services.domain_errors import InvalidInput, NotFound
from services.risk.application import city
from services.risk.application.projections import (
    ALERTS,
    CODES,
    MARKERS,
    QUEUE,
    put_alert,
    view_pages,
)
from services.risk.application.store import (
    ALERT_NO_RETRY,
    CODEC,
    decide,
    events_of,
    load_alert,
    opening_stream,
)
from services.risk.domain import alerts as domain
from services.risk.domain.departments import DEPARTMENTS, department_of_industry
from services.risk.domain.events import AlertOpened

RECONCILED = "escrow.ReconciliationCompleted.v1"
RECONCILIATION_DEPARTMENT = "commerce"
"""Who answers for the escrow bank's differences: 商务局, which supervises the escrow."""


def describe(uow: UnitOfWork | EventStore, merchant_id: str, known: dict | None = None) -> dict:
    """The merchant's name, industry and department, as its application said (`known`: its
    city_merchants row, when the caller has read it already)."""
    if known is None:
        known = (uow.get_view(city.MERCHANTS, merchant_id) or {}) if merchant_id else {}
    industry = known.get("industry", "")
    return {
        "merchant_name": known.get("name", ""),
        "industry": industry,
        "department": department_of_industry(industry) if merchant_id else "",
    }


def open_alert(uow: UnitOfWork, opened: AlertOpened, about: dict | None = None) -> dict:
    """Projects an opened alert: the alert and its queue keys."""
    alert = {
        **event_fields(opened),
        **(about if about is not None else describe(uow, opened.merchant_id)),
        "status": "open",
        "steps": [],
        "disposition": None,
        "assignee": None,
        "assignments": [],
    }
    put_alert(uow, alert)
    return alert


def _open_once(uow: UnitOfWork, opened: AlertOpened, about: dict | None, metadata) -> bool:
    if uow.get_view(ALERTS, opened.alert_id) is not None:
        return False
    uow.append(opening_stream(opened.alert_id), [CODEC.encode(opened, metadata or {})], 0)
    open_alert(uow, opened, about)
    return True


def open_for_escalation(uow: UnitOfWork, escalated: dict, metadata: dict | None = None) -> bool:
    """An escalated complaint opens alert `al-<complaint id>`, at the merchant's code and at
    least yellow; once."""
    merchant_id = escalated["merchant_id"]
    code = (uow.get_view(CODES, merchant_id) or {}).get("code")
    opened = AlertOpened(
        f"al-{escalated['complaint_id']}",
        merchant_id,
        "red" if code == "red" else "yellow",
        [{"indicator": "complaint_escalated", "value": 1, "threshold": "0"}],
        escalated["escalated_at"],
        None,
    )
    return _open_once(uow, opened, None, metadata)


def open_for_reconciliation(uow: UnitOfWork, data: dict, metadata: dict | None = None) -> bool:
    """A day's reconciliation with differences opens red alert `al-recon-<day>` (about no
    merchant, for 商务局); once. A matched day opens nothing."""
    if data.get("status") != "differences":
        return False
    opened = AlertOpened(
        f"al-recon-{data['day']}",
        "",
        "red",
        [
            {
                "indicator": "reconciliation_difference",
                "value": data.get("differences_total") or len(data.get("differences", [])),
                "threshold": "0",
            }
        ],
        data["reconciled_at"],
        None,
    )
    about = {"merchant_name": "", "industry": "", "department": RECONCILIATION_DEPARTMENT}
    return _open_once(uow, opened, about, metadata)


def get_alert(alert_id: str, *, store: EventStore) -> dict:
    alert = store.get_view(ALERTS, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    return alert


def assign(
    alert_id: str,
    assignee: str,
    *,
    by: str,
    department: str,
    store: EventStore,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    """Gives the alert to an officer; the same officer again changes nothing."""
    decide(
        store,
        alert_id,
        lambda alert: events_of(
            domain.assign(alert, assignee, by=by, department=department, now=now.isoformat())
        ),
        metadata,
        ALERT_NO_RETRY,
        load=load_alert,
    )
    return get_alert(alert_id, store=store)


def check_department(department: str | None) -> None:
    if department and department not in DEPARTMENTS:
        raise InvalidInput(f"unknown department {department!r}", "invalid_department")


def queue(
    *,
    store: EventStore,
    now: datetime,
    rules: domain.AlertRules,
    status: str = "open",
    code: str | None = None,
    facet: str = "all",
    value: str = "",
    opened_after: str | None = None,
    opened_before: str | None = None,
    after: str = "",
    limit: int = 100,
) -> dict:
    """A page of the queue, oldest first, each alert with its SLA as of `now`. Reads at most
    `limit + 1` keys from each prefix the filter spans (its statuses times its codes), however
    deep the page: `after` is where the previous page ended (`<opened_at>|<alert id>`)."""
    if facet not in domain.FACETS:
        raise InvalidInput(f"facet must be one of {', '.join(domain.FACETS)}", "invalid_input")
    if facet == "department":
        check_department(value)
    start = after
    if opened_after:
        start = max(start, domain.time_key(opened_after))
    stop = domain.time_key(opened_before) if opened_before else None
    streams = []
    for prefix in domain.prefixes(facet, value, status, code):
        rows = store.list_views(QUEUE, prefix + start, limit + 1)
        tails = [key[len(prefix) :] for key, _ in rows if key.startswith(prefix)]
        streams.append([(prefix, t) for t in tails if stop is None or t < stop])
    merged = list(heapq.merge(*streams, key=lambda row: row[1]))[: limit + 1]
    page, more = merged[:limit], len(merged) > limit
    # A key names its alert (its tail ends with the id): the page's alerts are read at once.
    # One changed since its key was read is left out if it is no longer under that key.
    found = store.get_views(ALERTS, [tail.split("|", 1)[1] for _, tail in page])
    items = []
    for prefix, tail in page:
        alert = found.get(tail.split("|", 1)[1])
        if alert is not None and prefix == _prefix_of(alert, facet):
            items.append({**alert, **domain.sla(alert["code"], alert["opened_at"], now, rules)})
    return {"items": items, "next_after": page[-1][1] if more else None}


def _prefix_of(alert: dict, facet: str) -> str:
    """The prefix of the alert's key under `facet` now (its tail, the opening time and id,
    never changes)."""
    value = dict(domain.facet_values(alert))[facet]
    return f"{facet}|{value}|{alert['status']}|{alert['code']}|"


QUEUE_DONE = "alert-queue-v13"


def backfill_queue(store: EventStore, batch: int = 500) -> int | None:
    """Lists every alert in the queue, with its merchant's name, industry and department (a
    store from before the queue); None when done before. Marked done only at the end, so a
    start interrupted halfway lists the rest next time (putting an alert's keys again is
    harmless)."""
    if store.get_view(MARKERS, QUEUE_DONE) is not None:
        return None
    indexed = 0
    for rows in view_pages(store, ALERTS, batch):
        with store.unit_of_work() as uow:
            for _, alert in rows:
                about = describe(uow, alert["merchant_id"])
                put_alert(uow, {"assignee": None, "assignments": [], **about, **alert})
        indexed += len(rows)
    with store.unit_of_work() as uow:
        uow.put_view(MARKERS, QUEUE_DONE, {"alerts": indexed})
    return indexed


def refile_unknown(store: EventStore, batch: int = 500) -> int:
    """Files again each alert listed before its merchant's name and industry were known (a
    store from before risk learnt them): its department follows the industry now known."""
    refiled = 0
    for rows in view_pages(store, ALERTS, batch):
        with store.unit_of_work() as uow:
            for _, alert in rows:
                if not alert["merchant_id"] or alert.get("industry"):
                    continue
                about = describe(uow, alert["merchant_id"])
                if about["industry"]:
                    put_alert(uow, {**alert, **about}, before=alert)
                    refiled += 1
    return refiled
