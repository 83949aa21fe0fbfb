"""The risk service's use cases that change state: complaints, assessments of published
events, and the regulator's steps on alerts. Plain functions over the store, the vault, the
rules, a clock and the Merchants port."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from eventstore import EventStore, UnitOfWork
from privacy import Vault
from services.domain_errors import NotFound
from services.event_sourcing import run
from services.risk.application import alerts, city, history, public_lists, ratings, sanctions, watch
from services.risk.application.assessment import assess
from services.risk.application.ports import Merchants
from services.risk.application.projections import CODES, COMPLAINANTS, COMPLAINTS, FIGURES
from services.risk.application.queries import get_alert, get_complaint
from services.risk.application.store import (
    ALERT_NO_RETRY,
    CODEC,
    COMPLAINT_NO_RETRY,
    RESPONSE,
    TEXT,
    Within,
    commit,
    decide,
    events_of,
    load_alert,
    seal,
)
from services.risk.domain import complaints as domain
from services.risk.domain.events import ComplaintEscalated
from services.risk.domain.health_code import RiskRules


def _reassessing(
    *,
    rules: RiskRules,
    now: datetime,
    metadata: dict | None,
    guard: Callable[[UnitOfWork], None] | None = None,
) -> Within:
    """A complaint commit's work in its unit of work: `guard` (raising rolls the complaint
    back), then each event folded into its merchant's figures and the merchant reassessed, so
    the complaint and the code it moves commit together."""

    def within(uow: UnitOfWork, events: Sequence[object]) -> None:
        if guard is not None:
            guard(uow)
        for event in events:
            fold = CODEC.encode(event)  # its type and fields, as the consumers receive them
            assess(
                uow,
                fold.data["merchant_id"],
                as_of=now,
                rules=rules,
                metadata=metadata,
                event=(fold.type, fold.data, now.isoformat()),
            )
            if isinstance(event, ComplaintEscalated):
                alerts.open_for_escalation(uow, fold.data, metadata)

    return within


def file_complaint(
    consumer_id: str,
    merchant_id: str,
    card_id: str | None,
    category: str,
    text: str,
    *,
    store: EventStore,
    vault: Vault,
    rules: RiskRules,
    now: datetime,
    metadata: dict | None = None,
    new_id: Callable[[], str] = lambda: f"cp-{uuid.uuid4().hex[:20]}",
) -> dict:
    """Files a complaint. One consumer may file at most the policy's number against one
    merchant in its window (`complaint_limit_reached`), whether or not they hold a card."""
    complaint_id = new_id()
    domain.file_complaint(
        complaint_id,
        merchant_id=merchant_id,
        card_id=card_id,
        consumer_id=consumer_id,
        category=category,
        text_encrypted="",
        now=now.isoformat(),
    )  # validated before any key is made
    event = domain.file_complaint(
        complaint_id,
        merchant_id=merchant_id,
        card_id=card_id,
        consumer_id=consumer_id,
        category=category,
        text_encrypted=seal(vault, consumer_id, TEXT, text),
        now=now.isoformat(),
    )
    key = f"{consumer_id}/{merchant_id}"

    def within_limit(uow: UnitOfWork) -> None:
        filed = (uow.get_view(COMPLAINANTS, key) or {"filed": []})["filed"]
        recent = domain.recent_filings(
            filed,
            now,
            limit=rules.complaint_limit_per_consumer_per_merchant,
            window_days=rules.complaint_limit_window_days,
        )
        uow.put_view(COMPLAINANTS, key, {"filed": [*recent, now.isoformat()]})

    within = _reassessing(rules=rules, now=now, metadata=metadata, guard=within_limit)
    run(
        lambda: domain.Complaint(complaint_id),
        lambda complaint: [event],
        lambda complaint, events: commit(store, complaint, events, metadata, within=within),
        COMPLAINT_NO_RETRY,
    )
    return {"complaint_id": complaint_id, "status": "open"}


def respond_to_complaint(
    complaint_id: str,
    merchant_id: str,
    response: str,
    *,
    store: EventStore,
    vault: Vault,
    rules: RiskRules,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    def respond(complaint: domain.Complaint) -> list[object]:
        if complaint.merchant_id != merchant_id:
            raise NotFound(f"no complaint {complaint_id}")
        return [
            domain.respond(
                complaint, seal(vault, complaint.consumer_id, RESPONSE, response), now.isoformat()
            )
        ]

    decide(
        store,
        complaint_id,
        respond,
        metadata,
        within=_reassessing(rules=rules, now=now, metadata=metadata),
    )
    return get_complaint(complaint_id, store=store, vault=vault)


def close_complaint(
    complaint_id: str,
    consumer_id: str | None,
    by: str,
    how: str,
    *,
    store: EventStore,
    rules: RiskRules,
    now: datetime,
    outcome: str = "accepted",
    metadata: dict | None = None,
) -> dict:
    """`how` is "resolve" or "escalate"; a consumer may only close their own complaint
    (`consumer_id`), a regulator any (`consumer_id` None)."""

    def close(complaint: domain.Complaint) -> list[object]:
        if consumer_id is not None and complaint.consumer_id != consumer_id:
            raise NotFound(f"no complaint {complaint_id}")
        if how == "escalate":
            return events_of(domain.escalate(complaint, by, outcome, now.isoformat()))
        return events_of(domain.resolve(complaint, by, outcome, now.isoformat()))

    done = decide(
        store,
        complaint_id,
        close,
        metadata,
        within=_reassessing(rules=rules, now=now, metadata=metadata),
    )
    return {"complaint_id": complaint_id, "status": done.aggregate.status}


def rule_unfounded(
    complaint_id: str,
    by: str,
    note: str,
    *,
    store: EventStore,
    rules: RiskRules,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    """A regulator's finding that the complaint is unfounded (who, when and why are in the
    event): it stops counting for the merchant, and resolves the complaint if still open."""
    decide(
        store,
        complaint_id,
        lambda complaint: domain.rule_unfounded(complaint, by, note, now.isoformat()),
        metadata,
        within=_reassessing(rules=rules, now=now, metadata=metadata),
    )
    view = store.get_view(COMPLAINTS, complaint_id) or {}
    return {
        k: view.get(k)
        for k in (
            "complaint_id",
            "merchant_id",
            "status",
            "unfounded",
            "ruled_by",
            "ruling_note",
            "ruled_at",
        )
    }


def observe_event(
    uow: UnitOfWork,
    event_type: str,
    data: dict,
    at: str,
    *,
    rules: RiskRules,
    metadata: dict | None = None,
    new_id: Callable[[], str] | None = None,
) -> dict | None:
    """A published merchant or escrow event, inside the consumer's unit of work; `new_id`
    names an alert the assessment opens (a replay gives the ids the live service gave)."""
    if event_type == alerts.RECONCILED:
        alerts.open_for_reconciliation(uow, data, metadata)
        return None
    merchant_id = data.get("merchant_id")
    if not merchant_id:
        return None
    if event_type == city.APPLIED:
        city.learn_merchant(uow, data, at)
        public_lists.refile(uow, merchant_id)
        watch.refile(uow, merchant_id)
        return None
    ratings.note_spend(uow, event_type, data, at)
    return assess(
        uow,
        merchant_id,
        as_of=datetime.fromisoformat(at),
        rules=rules,
        event=(event_type, data, at),
        metadata=metadata,
        **({"new_id": new_id} if new_id else {}),
    )


def reassess_all(*, store: EventStore, rules: RiskRules, now: datetime, batch: int = 500) -> int:
    """The scheduled evaluation for time-driven indicators (dormancy, windows moving on).
    A batch of 500 merchants commits in about 0.2 s: few enough fsyncs for 10,000 merchants,
    and a short enough wait for the consumers that share the store."""
    done, cursor = 0, ""
    while page := store.list_views(CODES, cursor, batch):
        cursor = page[-1][0]
        merchants = [merchant_id for merchant_id, _ in page]
        day = now.date().isoformat()
        with store.unit_of_work() as uow:
            # What `assess` reads of each merchant, a query per view for the whole page.
            for view in (FIGURES, CODES, city.MERCHANTS, public_lists.STANDINGS, watch.STANDINGS):
                uow.prefetch_views(view, merchants)
            uow.prefetch_views(history.DAYS, [f"{m}/{day}" for m in merchants])
            for merchant_id in merchants:
                assess(uow, merchant_id, as_of=now, rules=rules)
        done += len(page)
        if len(page) < batch:
            break
    return done


SANCTION_WORDS = {"public_warning": "公开警示", "delisted": "下架"}
"""A merchant's status reason is shown on its public pages: Chinese, like every user's text."""


def alert_step(
    alert_id: str,
    step: str,
    *,
    by: str,
    store: EventStore,
    merchants: Merchants,
    now: datetime,
    note: str = "",
    evidence_sha256: str | None = None,
    disposition: str | None = None,
    department: str = "",
    metadata: dict | None = None,
) -> dict:
    """A regulator's step on an alert, with the regulator's department. Resolving it with a
    public warning or a delisting changes the merchant's status (see sanctions.py), after the
    step is recorded; resolving it again asks again, so a step whose status change failed can
    be repeated."""
    decide(
        store,
        alert_id,
        lambda alert: events_of(
            domain.alert_step(
                alert,
                step,
                by=by,
                now=now.isoformat(),
                note=note,
                evidence_sha256=evidence_sha256,
                disposition=disposition,
                department=department,
            )
        ),
        metadata,
        ALERT_NO_RETRY,
        load=load_alert,
    )
    alert = get_alert(alert_id, store=store)
    if step == "resolved":
        words = SANCTION_WORDS.get(disposition or "", disposition)
        sanctions.impose_disposition(merchants, alert, note or f"预警 {alert_id} 处置：{words}", by)
    return alert
