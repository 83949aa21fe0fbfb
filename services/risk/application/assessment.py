"""Assessing a merchant: fold an event into its figures, compute the indicators as of the
event's time, and move its health code; a change is an event, and a worse code opens an alert.

Everything is written through the caller's unit of work, so the figures, the code, the alert
and the consumer's dedupe record commit together.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta

from eventstore import UnitOfWork
from services.risk.application import alerts, city, history, public_lists, relationships, watch
from services.risk.application.observations import observe
from services.risk.application.projections import CODES, DEADLINES, FIGURES
from services.risk.application.store import CODEC, code_stream
from services.risk.domain import health_code
from services.risk.domain.events import AlertOpened, HealthCodeChanged
from services.risk.domain.indicators import MerchantFigures, compute


def figures_to_doc(figures: MerchantFigures) -> dict:
    doc = asdict(figures)
    doc["flags"] = sorted(figures.flags)
    doc["open_complaints"] = sorted(figures.open_complaints)
    doc["unfounded_complaints"] = sorted(figures.unfounded_complaints)
    return doc


def figures_from_doc(doc: dict) -> MerchantFigures:
    return MerchantFigures(
        **{
            **doc,
            "flags": set(doc["flags"]),
            "open_complaints": set(doc["open_complaints"]),
            "unfounded_complaints": set(doc.get("unfounded_complaints", ())),
        }
    )


def state_to_doc(state: health_code.CodeState) -> dict:
    # Shallow on purpose: dataclasses.asdict deep-copies every reason, per merchant, per run.
    return {**state.__dict__, "reasons": list(state.reasons)}


def state_from_doc(doc: dict | None) -> health_code.CodeState:
    if doc is None:
        return health_code.CodeState()
    return health_code.CodeState(**{**doc["state"], "reasons": tuple(doc["state"]["reasons"])})


def assess(
    uow: UnitOfWork,
    merchant_id: str,
    *,
    as_of: datetime,
    rules: health_code.RiskRules,
    event: tuple[str, dict, str] | None = None,
    metadata: dict | None = None,
    new_id: Callable[[], str] = lambda: f"al-{uuid.uuid4().hex[:20]}",
) -> dict:
    """Folds `event` (type, data, event time) if given, then evaluates at `as_of`; returns the
    merchant's code document. Evaluation time never goes back: an event older than the last
    evaluation is folded in and evaluated at the last evaluation's time."""
    doc = uow.get_view(FIGURES, merchant_id)
    figures = figures_from_doc(doc) if doc else MerchantFigures(merchant_id)
    if event is not None:
        observe(figures, *event)
        relationships.note(uow, *event)
    previous = uow.get_view(CODES, merchant_id) or {}
    state, version = state_from_doc(previous or None), previous.get("version", 0)
    if previous and previous["evaluated_at"] > as_of.isoformat():
        as_of = datetime.fromisoformat(previous["evaluated_at"])
    longest = max(rules.window_short_days, rules.window_long_days, rules.hard_complaint_surge_days)
    customers = relationships.customers_among(
        uow, merchant_id, figures.complainants(as_of, longest)
    )
    indicators = compute(
        figures,
        as_of,
        short_days=rules.window_short_days,
        long_days=rules.window_long_days,
        customers=customers,
    )
    surge = figures.counted_complaints(as_of, rules.hard_complaint_surge_days, customers)
    new_state = health_code.evaluate(
        state,
        soft=health_code.soft_breaches(indicators, rules),
        hard=health_code.hard_flags(indicators, figures.flags, surge, rules, status=figures.status),
        as_of=as_of,
        rules=rules,
    )
    metrics = indicators.as_dict()
    known = uow.get_view(city.MERCHANTS, merchant_id) or {}  # read once for every view below
    if event is not None:  # a scheduled re-evaluation changes no figure
        uow.put_view(FIGURES, merchant_id, figures_to_doc(figures))
    code_doc = {
        "merchant_id": merchant_id,
        "code": new_state.code,
        "since": new_state.since or previous.get("since") or as_of.isoformat(),
        "reasons": list(new_state.reasons),
        "metrics": metrics,
        "evaluated_at": as_of.isoformat(),
        "state": state_to_doc(new_state),
    }
    if not previous or new_state.code != state.code:
        changed = HealthCodeChanged(
            merchant_id,
            new_state.code,
            state.code if previous else "unassessed",
            list(new_state.reasons),
            metrics,
            as_of.isoformat(),
        )
        opened = None
        if health_code.LEVELS.index(new_state.code) > health_code.LEVELS.index(state.code):
            improve_by = None
            if new_state.code == "red" and health_code.deadline_applies(new_state.reasons):
                improve_by = (as_of + timedelta(days=rules.red_grace_days)).isoformat()
            opened = AlertOpened(
                new_id(),
                merchant_id,
                new_state.code,
                list(new_state.reasons),
                as_of.isoformat(),
                improve_by,
            )
        events = [changed] if opened is None else [changed, opened]
        uow.append(
            code_stream(merchant_id), [CODEC.encode(e, metadata or {}) for e in events], version
        )
        version += len(events)
        if opened is not None:
            alerts.open_alert(uow, opened, alerts.describe(uow, merchant_id, known))
            if opened.improve_by:
                uow.put_view(
                    DEADLINES,
                    f"{opened.improve_by}|{merchant_id}",
                    {
                        "merchant_id": merchant_id,
                        "alert_id": opened.alert_id,
                        "deadline": opened.improve_by,
                    },
                )
    uow.put_view(CODES, merchant_id, {**code_doc, "version": version})
    at = event[2] if event else as_of.isoformat()
    city.account(uow, figures, new_state.code, at, known)
    history.keep_day(uow, merchant_id, as_of.date().isoformat(), new_state.code, metrics)
    public_lists.update(
        uow,
        merchant_id,
        code=new_state.code,
        status=figures.status,
        flags=figures.flags,
        at=at,
        known=known,
    )
    watch.update(
        uow,
        merchant_id,
        code=new_state.code,
        since=str(code_doc["since"]),
        reasons=list(new_state.reasons),
        known=known,
    )
    return {**code_doc, "version": version}
