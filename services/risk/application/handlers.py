"""The risk service's use cases: complaints, assessments, the regulator's alerts, and the
red-code deadline. Plain functions over the store, the vault, the rules and a clock."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from eventstore import ConcurrencyError, EventStore
from eventstore.codec import event_fields
from privacy import Forgotten, Vault
from services.domain_errors import BusinessRuleViolation, Conflict, NotFound
from services.paging import keyset_page
from services.risk.application.assessment import (
    ALERTS,
    CODEC,
    CODES,
    OPEN_ALERTS,
    assess,
)
from services.risk.domain import complaints as domain
from services.risk.domain.events import AlertOpened
from services.risk.domain.health_code import RiskRules
from services.risk.domain.indicators import public_metrics

COMPLAINTS, BY_MERCHANT = "complaints", "complaints_by_merchant"
COMPLAINANTS = "complaints_by_complainant"
"""consumer/merchant -> when that consumer filed against that merchant, within the window."""
TEXT, RESPONSE = "complaint_text", "complaint_response"


def complaint_stream(complaint_id: str) -> str:
    return f"complaint-{complaint_id}"


def _load_complaint(store: EventStore, complaint_id: str) -> domain.Complaint:
    complaint = domain.Complaint(complaint_id)
    for record in store.read_stream(complaint_stream(complaint_id)):
        complaint.apply(CODEC.decode(record))
    if complaint.status == "none":
        raise NotFound(f"no complaint {complaint_id}")
    return complaint


def _record(store: EventStore, complaint: domain.Complaint, events: list, *, rules: RiskRules,
            now: datetime, metadata: dict | None,
            guard: Callable[[object], None] | None = None) -> None:
    """Appends a complaint's events, keeps its views, and reassesses its merchant, at once.
    `guard` runs after the append, which holds the store's write lock, so what it reads and
    writes through the unit of work is not raced; raising rolls everything back."""
    try:
        with store.unit_of_work() as uow:
            uow.append(complaint_stream(complaint.complaint_id),
                       [CODEC.encode(event, metadata or {}) for event in events],
                       complaint.version)
            if guard is not None:
                guard(uow)
            for event in events:
                complaint.apply(event)
                data = event_fields(event)
                before = uow.get_view(COMPLAINTS, complaint.complaint_id)
                view = {**(before or {}), **{k: v for k, v in data.items()
                                             if not k.endswith("_encrypted")},
                        "status": complaint.status, "responded": complaint.responded,
                        "unfounded": complaint.unfounded}
                uow.put_view(COMPLAINTS, complaint.complaint_id, view)
                if before is None:
                    uow.put_view(BY_MERCHANT, f"{complaint.merchant_id}/{view['filed_at']}|"
                                 f"{complaint.complaint_id}",
                                 {"complaint_id": complaint.complaint_id})
                assess(uow, complaint.merchant_id, as_of=now, rules=rules, metadata=metadata,
                       event=(event.TYPE, data, now.isoformat()))
    except ConcurrencyError as exc:
        raise Conflict("the complaint changed meanwhile; retry", "version_conflict") from exc


def _seal(vault: Vault, consumer_id: str, purpose: str, text: str) -> str:
    """Encrypted with the consumer's key; a consumer who had their data erased has none, and
    none is made again (the erasure stands)."""
    try:
        return vault.encrypt(consumer_id, purpose, text)
    except Forgotten:
        raise BusinessRuleViolation("this consumer's personal data was erased at their request; "
                                    "no new text can be kept for them",
                                    "personal_data_erased") from None


def file_complaint(consumer_id: str, merchant_id: str, card_id: str | None, category: str,
                   text: str, *, store: EventStore, vault: Vault, rules: RiskRules,
                   now: datetime, metadata: dict | None = None,
                   new_id: Callable[[], str] = lambda: f"cp-{uuid.uuid4().hex[:20]}") -> dict:
    """Files a complaint. One consumer may file at most the policy's number against one
    merchant in its window (`complaint_limit_reached`), whether or not they hold a card."""
    complaint_id = new_id()
    domain.file_complaint(complaint_id, merchant_id=merchant_id, card_id=card_id,
                          consumer_id=consumer_id, category=category, text_encrypted="",
                          now=now.isoformat())  # validated before any key is made
    event = domain.file_complaint(
        complaint_id, merchant_id=merchant_id, card_id=card_id, consumer_id=consumer_id,
        category=category, text_encrypted=_seal(vault, consumer_id, TEXT, text),
        now=now.isoformat())
    key = f"{consumer_id}/{merchant_id}"

    def within_limit(uow) -> None:
        filed = (uow.get_view(COMPLAINANTS, key) or {"filed": []})["filed"]
        recent = domain.recent_filings(
            filed, now, limit=rules.complaint_limit_per_consumer_per_merchant,
            window_days=rules.complaint_limit_window_days)
        uow.put_view(COMPLAINANTS, key, {"filed": [*recent, now.isoformat()]})

    _record(store, domain.Complaint(complaint_id), [event], rules=rules, now=now,
            metadata=metadata, guard=within_limit)
    return {"complaint_id": complaint_id, "status": "open"}


def respond_to_complaint(complaint_id: str, merchant_id: str, response: str, *,
                         store: EventStore, vault: Vault, rules: RiskRules, now: datetime,
                         metadata: dict | None = None) -> dict:
    complaint = _load_complaint(store, complaint_id)
    if complaint.merchant_id != merchant_id:
        raise NotFound(f"no complaint {complaint_id}")
    event = domain.respond(complaint, _seal(vault, complaint.consumer_id, RESPONSE, response),
                           now.isoformat())
    _record(store, complaint, [event], rules=rules, now=now, metadata=metadata)
    return get_complaint(complaint_id, store=store, vault=vault)


def close_complaint(complaint_id: str, consumer_id: str | None, by: str, how: str, *,
                    store: EventStore, rules: RiskRules, now: datetime,
                    outcome: str = "accepted", metadata: dict | None = None) -> dict:
    """`how` is "resolve" or "escalate"; a consumer may only close their own complaint
    (`consumer_id`), a regulator any (`consumer_id` None)."""
    complaint = _load_complaint(store, complaint_id)
    if consumer_id is not None and complaint.consumer_id != consumer_id:
        raise NotFound(f"no complaint {complaint_id}")
    if how == "escalate":
        event = domain.escalate(complaint, by, outcome, now.isoformat())
    else:
        event = domain.resolve(complaint, by, outcome, now.isoformat())
    if event is not None:
        _record(store, complaint, [event], rules=rules, now=now, metadata=metadata)
    return {"complaint_id": complaint_id, "status": complaint.status}


def rule_unfounded(complaint_id: str, by: str, note: str, *, store: EventStore,
                   rules: RiskRules, now: datetime, metadata: dict | None = None) -> dict:
    """A regulator's finding that the complaint is unfounded (who, when and why are in the
    event): it stops counting for the merchant, and resolves the complaint if still open."""
    complaint = _load_complaint(store, complaint_id)
    events = domain.rule_unfounded(complaint, by, note, now.isoformat())
    if events:
        _record(store, complaint, events, rules=rules, now=now, metadata=metadata)
    view = store.get_view(COMPLAINTS, complaint_id)
    return {k: view.get(k) for k in ("complaint_id", "merchant_id", "status", "unfounded",
                                     "ruled_by", "ruling_note", "ruled_at")}


def get_complaint(complaint_id: str, *, store: EventStore, vault: Vault) -> dict:
    view = store.get_view(COMPLAINTS, complaint_id)
    if view is None:
        raise NotFound(f"no complaint {complaint_id}")
    texts = {}
    for record in store.read_stream(complaint_stream(complaint_id)):
        for field, purpose in (("text_encrypted", TEXT), ("response_encrypted", RESPONSE)):
            if field in record.data:
                try:
                    texts[field[:-10]] = vault.decrypt(view["consumer_id"], purpose,
                                                       record.data[field])
                except Forgotten:
                    texts[field[:-10]] = None
    return {**view, **texts}


def merchant_complaints(merchant_id: str, *, store: EventStore, vault: Vault,
                        after: str = "", limit: int = 100) -> dict:
    """The complaints about a merchant, oldest first, with their texts, a page at a time;
    `next_after` is where the next page starts, None after the last."""
    found = keyset_page(store.list_views, BY_MERCHANT, f"{merchant_id}/", after, limit)
    return {"items": [get_complaint(ref["complaint_id"], store=store, vault=vault)
                      for _, ref in found["rows"]], "next_after": found["next_after"]}


# --- assessments ---------------------------------------------------------------------------
def observe_event(uow, event_type: str, data: dict, at: str, *, rules: RiskRules,
                  metadata: dict | None = None) -> dict | None:
    """A published merchant or escrow event, inside the consumer's unit of work."""
    merchant_id = data.get("merchant_id")
    if not merchant_id:
        return None
    return assess(uow, merchant_id, as_of=datetime.fromisoformat(at), rules=rules,
                  event=(event_type, data, at), metadata=metadata)


def health(merchant_id: str, *, store: EventStore, full: bool = True) -> dict:
    """The code with its reasons and metrics; without `full` (the public's view), only the
    metrics that are not money (indicators.PUBLIC_METRICS)."""
    doc = store.get_view(CODES, merchant_id)
    if doc is None:
        raise NotFound(f"no assessment of {merchant_id} yet")
    found = {k: doc[k] for k in ("merchant_id", "code", "since", "reasons", "metrics",
                                 "evaluated_at")}
    if not full:
        found["metrics"] = public_metrics(found["metrics"])
    return found


def codes(merchant_ids: list[str], *, store: EventStore) -> dict:
    """The assessed codes of these merchants, by id; the unassessed are absent."""
    found = {}
    for merchant_id in merchant_ids:
        doc = store.get_view(CODES, merchant_id)
        if doc is not None:
            found[merchant_id] = {k: doc[k] for k in ("code", "since", "reasons")}
    return found


def reassess_all(*, store: EventStore, rules: RiskRules, now: datetime,
                 batch: int = 500) -> int:
    """The scheduled evaluation for time-driven indicators (dormancy, windows moving on).
    A batch of 500 merchants commits in about 0.2 s: few enough fsyncs for 10,000 merchants,
    and a short enough wait for the consumers that share the store."""
    done, cursor = 0, ""
    while page := store.list_views(CODES, cursor, batch):
        cursor = page[-1][0]
        with store.unit_of_work() as uow:
            for merchant_id, _ in page:
                assess(uow, merchant_id, as_of=now, rules=rules)
        done += len(page)
        if len(page) < batch:
            break
    return done


# --- alerts --------------------------------------------------------------------------------
def open_alerts(*, store: EventStore, now: datetime, status: str = "open", after: str = "",
                limit: int = 100) -> dict:
    """Alerts not yet resolved, oldest first, a page at a time, each with its SLA age in
    hours; `status` picks one step of the workflow, or "any"."""
    def wanted(key: str, ref: dict) -> bool:
        return status == "any" or store.get_view(ALERTS, ref["alert_id"])["status"] == status

    found = keyset_page(store.list_views, OPEN_ALERTS, "", after, limit, wanted)
    items = []
    for _, ref in found["rows"]:
        alert = store.get_view(ALERTS, ref["alert_id"])
        age = now - datetime.fromisoformat(alert["opened_at"])
        items.append({**alert, "age_hours": int(age.total_seconds() // 3600)})
    return {"items": items, "next_after": found["next_after"]}


def alert_step(alert_id: str, step: str, *, by: str, store: EventStore, now: datetime,
               note: str = "", evidence_sha256: str | None = None,
               disposition: str | None = None, metadata: dict | None = None) -> dict:
    view = store.get_view(ALERTS, alert_id)
    if view is None:
        raise NotFound(f"no alert {alert_id}")
    # The opening is in the merchant's health stream; the regulator's steps in the alert's.
    alert, stream = domain.Alert(alert_id), f"alert-{alert_id}"
    alert.apply(AlertOpened(view["alert_id"], view["merchant_id"], view["code"],
                            view["reasons"], view["opened_at"], view["improve_by"]))
    records = store.read_stream(stream)
    for record in records:
        alert.apply(CODEC.decode(record))
    event = domain.alert_step(alert, step, by=by, now=now.isoformat(), note=note,
                              evidence_sha256=evidence_sha256, disposition=disposition)
    if event is None:
        return view
    view = {**view, "status": event.step, "disposition": event.disposition or
            view["disposition"], "steps": view["steps"] + [
                {k: getattr(event, k) for k in ("step", "by", "at", "note", "evidence_sha256",
                                                "disposition")}]}
    try:
        with store.unit_of_work() as uow:
            uow.append(stream, [CODEC.encode(event, metadata or {})], len(records))
            uow.put_view(ALERTS, alert_id, view)
            if event.step == "resolved":
                uow.delete_view(OPEN_ALERTS, f"{view['opened_at']}|{alert_id}")
    except ConcurrencyError as exc:
        raise Conflict("the alert changed meanwhile; retry", "version_conflict") from exc
    return view

