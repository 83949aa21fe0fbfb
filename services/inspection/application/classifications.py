"""Each merchant's classification, always current: facts folded from the merchant, escrow and
risk events (and the inspection's own results and check-ins), the classification recomputed
from them, and `inspection.ClassificationChanged.v1` appended to the merchant's stream when its
class, grade, tier or white-listing changes.

Views:
* `inspection_facts`: merchant id -> MerchantFacts (services.inspection.domain.facts).
* `classifications`: merchant id -> Classification.as_dict() with `as_of`, the merchant's
  `department` (of its industry), whether it is `operating`, and its stream's `version`.
* `inspection_cards`: card id -> {merchant_id, payment_id} (a refund names only its card).
* `inspection_references`: payment or payout id -> {merchant_id} (a reconciliation difference
  names only those).
* `inspection_refunds_by_day`: `<day>/<merchant id>/<card id>` -> {}: one row per refund, so
  a refund writes one small row however many the day has; the day's reconciliation lists the
  merchants by the prefix `<day>/`.

`observe` is what the service's event handlers (and the replay) call, in the unit of work
that tracks the event; `reclassify_all` is the timer's (time alone moves days since red and
green streaks); `set_white_list` is the regulator's command.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventstore import EventStore, NewEvent, UnitOfWork
from eventstore.codec import EventCodec
from services.domain_errors import BusinessRuleViolation, InvalidInput, NotFound
from services.inspection.domain.calendar import china_day, china_year
from services.inspection.domain.classification import Finding, routine_mode, white_listable
from services.inspection.domain.data_checks import inputs_of
from services.inspection.domain.draw import KINDS
from services.inspection.domain.events import (
    CLASSIFICATION_EVENTS,
    ClassificationChanged,
    WhiteListChanged,
)
from services.inspection.domain.facts import (
    MerchantFacts,
    classify_merchant,
    fold,
    prune,
    reconciled,
)
from services.inspection.domain.rules import InspectionRules
from services.risk.domain.departments import DEPARTMENTS, department_of_industry

FACTS = "inspection_facts"
CLASSIFICATIONS = "classifications"
CARDS = "inspection_cards"
REFERENCES = "inspection_references"
REFUNDS_BY_DAY = "inspection_refunds_by_day"
CODEC = EventCodec(CLASSIFICATION_EVENTS)
"""Encodes the classification's events (the service's own codec decodes them with the rest)."""
RECONCILED = "escrow.ReconciliationCompleted.v1"
ALL_MERCHANTS = ("samr", "association")
"""Departments whose plans cover every merchant (市场监管局 and the association see all)."""
CHANGES = ("risk_class", "credit_grade", "tier", "white_listed")
"""What a ClassificationChanged is written for."""

RELEVANT = (
    "merchant.MerchantApplied.v1",
    "merchant.MerchantApproved.v1",
    "merchant.MerchantFlagSet.v1",
    "merchant.MerchantStatusChanged.v1",
    "merchant.DefaultConfirmed.v1",
    "escrow.DepositConfirmed.v1",
    "escrow.DepositReturned.v1",
    "escrow.RedemptionConfirmed.v1",
    "escrow.FundsReleased.v1",
    "escrow.CardRefunded.v1",
    "escrow.PayoutMade.v1",
    RECONCILED,
    "risk.HealthCodeChanged.v1",
    "risk.ComplaintFiled.v1",
    "risk.ComplaintResponded.v1",
    "risk.ComplaintResolved.v1",
    "risk.ComplaintRuledUnfounded.v1",
    "inspection.ResultRecorded.v1",
    "inspection.RectificationAccepted.v1",
    "inspection.CheckedIn.v1",
)
"""The event types `observe` folds (others are ignored)."""


def stream(merchant_id: str) -> str:
    """The merchant's classification changes and white-listings."""
    return f"classification-{merchant_id}"


def keep_days(rules: InspectionRules) -> int:
    """How long a complaint, a paid refund or a difference can matter to any window."""
    return max(
        rules.credit_a_complaint_window_days,
        rules.data_check_window_days,
        rules.credit_c_red_within_days,
        rules.class_i_red_within_days,
        rules.credit_c_yellow_window_days,
        rules.credit_a_min_green_days,
    )


def _when(at: str | datetime) -> datetime:
    return at if isinstance(at, datetime) else datetime.fromisoformat(at)


def _facts(uow: UnitOfWork | EventStore, merchant_id: str) -> MerchantFacts:
    doc = uow.get_view(FACTS, merchant_id)
    return MerchantFacts.from_doc(doc) if doc else MerchantFacts(merchant_id)


def observe(
    uow: UnitOfWork,
    event_type: str,
    data: dict,
    at: str | datetime,
    rules: InspectionRules,
    findings: Sequence[Finding] | None = None,
    metadata: dict | None = None,
    views: EventStore | None = None,
) -> list[str]:
    """Folds one event in at its time `at` and reclassifies the merchants it names; returns
    them. `findings`, when given, replace the merchant's folded findings (the caller's own
    record of ResultRecorded and RectificationAccepted). `views`: the store, which a
    reconciliation needs to list its day's refunds (a unit of work cannot list; the refunds
    were committed by the events before it)."""
    now = _when(at)
    if event_type == RECONCILED:
        if views is None:
            raise TypeError("a reconciliation is observed with the store's views")
        return _observe_reconciliation(uow, views, data, now, rules, metadata)
    merchant_id = data.get("merchant_id")
    if not merchant_id or (event_type not in RELEVANT and findings is None):
        return []
    kind = event_type.split(".")[1] if event_type.count(".") == 2 else event_type
    if kind == "DepositConfirmed":
        uow.put_view(
            CARDS, data["card_id"], {"merchant_id": merchant_id, "payment_id": data["payment_id"]}
        )
        uow.put_view(REFERENCES, data["payment_id"], {"merchant_id": merchant_id})
    elif kind in ("DepositReturned", "PayoutMade"):
        reference = data["payment_id"] if kind == "DepositReturned" else data["payout_id"]
        uow.put_view(REFERENCES, reference, {"merchant_id": merchant_id})
        return []
    elif kind == "CardRefunded":
        card = uow.get_view(CARDS, data["card_id"]) or {}
        data = {**data, "payment_id": card.get("payment_id")}
        day = data["refunded_at"][:10]
        uow.put_view(REFUNDS_BY_DAY, f"{day}/{merchant_id}/{data['card_id']}", {})
    facts = _facts(uow, merchant_id)
    changed = fold(facts, event_type, data, now.isoformat())
    if findings is not None:
        facts.set_findings(findings)
        changed = True
    if not changed:
        return []
    prune(facts, china_day(now), keep_days(rules))
    _classify(uow, facts, now, rules, metadata)
    return [merchant_id]


def refunded_merchants(views: EventStore, day: str) -> set[str]:
    """The merchants with a refund on `day`, from its rows `<day>/<merchant>/<card>`."""
    prefix, after = f"{day}/", f"{day}/"
    found: set[str] = set()
    while rows := views.list_views(REFUNDS_BY_DAY, after, 1000):
        for key, _ in rows:
            if not key.startswith(prefix):
                return found
            found.add(key[len(prefix) :].split("/", 1)[0])
        after = rows[-1][0]
    return found


def _observe_reconciliation(
    uow: UnitOfWork,
    views: EventStore,
    data: dict,
    now: datetime,
    rules: InspectionRules,
    metadata: dict | None,
) -> list[str]:
    day, differences = data["day"], data.get("differences") or []
    complete = data.get("differences_total", len(differences)) <= len(differences)
    missing = {
        d["reference"]
        for d in differences
        if d["side"] == "missing_at_bank" and d["kind"] == "refund"
    }
    late = {
        d["reference"]
        for d in differences
        if d["side"] == "unexpected_at_bank" and d["kind"] == "refund"
    }
    named: dict[str, list[dict]] = {}
    for difference in differences:
        owner = uow.get_view(REFERENCES, difference["reference"])
        if owner is not None:
            named.setdefault(owner["merchant_id"], []).append(difference)
    touched = sorted({*named, *refunded_merchants(views, day)})
    if late:
        touched = sorted({*touched, *_owners(uow, late)})
    for merchant_id in touched:
        facts = _facts(uow, merchant_id)
        reconciled(
            facts,
            day,
            named.get(merchant_id, []),
            missing_refunds=missing,
            late_refunds=late,
            complete=complete,
        )
        _classify(uow, facts, now, rules, metadata)
    return touched


def _owners(uow: UnitOfWork, references: set[str]) -> set[str]:
    found = (uow.get_view(REFERENCES, reference) for reference in sorted(references))
    return {doc["merchant_id"] for doc in found if doc is not None}


def _classify(
    uow: UnitOfWork,
    facts: MerchantFacts,
    now: datetime,
    rules: InspectionRules,
    metadata: dict | None = None,
    *,
    stored_facts: dict | None = None,
) -> bool:
    """Recomputes and stores the classification (and the facts, unless they equal
    `stored_facts`); appends ClassificationChanged when a class, grade, tier or white-listing
    changed. Returns whether the event was written."""
    found = classify_merchant(facts, china_day(now), rules, year=china_year(now))
    if facts.white_listed and not found.white_listed:
        facts.white_listed = False  # lapsed: a regulator lists it again once it is A again
    if facts.as_doc() != stored_facts:
        uow.put_view(FACTS, facts.merchant_id, facts.as_doc())
    previous = uow.get_view(CLASSIFICATIONS, facts.merchant_id)
    shown = found.as_dict()
    version = previous["version"] if previous else 0
    changed = previous is None or any(previous[k] != shown[k] for k in CHANGES)
    if changed:
        event = ClassificationChanged(
            facts.merchant_id,
            found.risk_class,
            found.credit_grade,
            found.tier,
            found.white_listed,
            found.quota_year,
            list(shown["reasons"]),
            now.isoformat(),
        )
        uow.append(stream(facts.merchant_id), [CODEC.encode(event, metadata)], version)
        version += 1
    doc = {
        "merchant_id": facts.merchant_id,
        **shown,
        "department": department_of_industry(facts.industry),
        "operating": facts.operating,
        "as_of": now.isoformat(),
        "version": version,
    }
    uow.put_view(CLASSIFICATIONS, facts.merchant_id, doc)
    return changed


def _public(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in ("version", "department", "operating")}


def get(store: EventStore, merchant_id: str) -> dict | None:
    """Classification.as_dict() with `merchant_id` and `as_of`; None for a merchant no event
    has named yet."""
    doc = store.get_view(CLASSIFICATIONS, merchant_id)
    return _public(doc) if doc else None


def eligible_merchants(store: EventStore, department: str, kind: str) -> list[dict]:
    """The draw's merchants (domain/draw.py): every operating merchant the department
    supervises (its sector's; samr and the association: all), sorted by id, each
    {merchant_id, tier, white_listed, at_quota}. Nobody is left out here: the draw leaves out
    the white-listed and at-quota ones of a routine plan, so the published list shows them.
    At quota: a tier whose routine check is a visit, with this year's visits at its quota (a
    data check is not a visit, so tiers A and B are never at quota)."""
    if department not in DEPARTMENTS:
        raise InvalidInput(
            f"department must be one of {', '.join(DEPARTMENTS)}", "invalid_department"
        )
    if kind not in KINDS:
        raise InvalidInput("kind must be routine or special", "invalid_kind")
    found, after = [], ""
    while rows := store.list_views(CLASSIFICATIONS, after, 1000):
        for key, doc in rows:
            if not doc["operating"]:
                continue
            if department not in ALL_MERCHANTS and doc["department"] != department:
                continue
            found.append(
                {
                    "merchant_id": key,
                    "tier": doc["tier"],
                    "white_listed": doc["white_listed"],
                    "at_quota": routine_mode(doc["tier"]) == "visit"
                    and doc["visits_this_year"] >= doc["quota_year"],
                }
            )
        after = rows[-1][0]
    return found


def data_check_inputs(
    store: EventStore, merchant_id: str, now: datetime, rules: InspectionRules, refunds: Any
) -> dict:
    """What the merchant's data check reads (domain/data_checks.py `inputs_of`); `refunds` is
    the policy's [refunds]. 404 `merchant_not_classified` for a merchant never seen."""
    doc = store.get_view(FACTS, merchant_id)
    if doc is None:
        raise NotFound(f"no classification of merchant {merchant_id}", "merchant_not_classified")
    return inputs_of(MerchantFacts.from_doc(doc), now, rules, refunds)


def set_white_list(
    store: EventStore,
    merchant_id: str,
    white_listed: bool,
    reason: str,
    by: str,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    """A regulator's white-listing (or its end). 422 `not_tier_a` for listing a merchant not
    in tier A, 400 `reason_required`, 404 `merchant_not_classified`. Asking for what already
    holds changes nothing and answers the classification."""
    if not isinstance(white_listed, bool):
        raise InvalidInput("white_listed must be true or false", "invalid_white_listed")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("a white-listing needs a reason", "reason_required")
    with store.unit_of_work() as uow:
        doc = uow.get_view(CLASSIFICATIONS, merchant_id)
        facts_doc = uow.get_view(FACTS, merchant_id)
        if doc is None or facts_doc is None:
            raise NotFound(
                f"no classification of merchant {merchant_id}", "merchant_not_classified"
            )
        if doc["white_listed"] == white_listed:
            return _public(doc)
        if white_listed and not white_listable(doc["tier"]):
            raise BusinessRuleViolation(
                f"only a tier-A merchant may be white-listed; this one is tier {doc['tier']}",
                "not_tier_a",
                {"tier": doc["tier"]},
            )
        doc = white_list(
            uow,
            doc,
            facts_doc,
            WhiteListChanged(merchant_id, white_listed, reason.strip(), by, now.isoformat()),
            metadata,
        )
    return _public(doc)


def white_list(
    uow: UnitOfWork,
    doc: dict,
    facts_doc: dict,
    event: WhiteListChanged,
    metadata: dict | None = None,
    event_id: str | None = None,
) -> dict:
    """Records a regulator's white-listing (checked by `set_white_list`, or copied with its
    `event_id` by the replay): facts, events and view; returns the view."""
    facts = MerchantFacts.from_doc(facts_doc)
    facts.white_listed = event.white_listed
    uow.put_view(FACTS, event.merchant_id, facts.as_doc())
    reasons = [r for r in doc["reasons"] if r["rule"] != "white_list"]
    listed = CODEC.encode(event, metadata)
    if event_id is not None:
        listed = NewEvent(listed.type, listed.data, listed.metadata, event_id)
    changed = ClassificationChanged(
        event.merchant_id,
        doc["risk_class"],
        doc["credit_grade"],
        doc["tier"],
        event.white_listed,
        doc["quota_year"],
        reasons,
        event.at,
    )
    uow.append(stream(event.merchant_id), [listed, CODEC.encode(changed, metadata)], doc["version"])
    doc = {**doc, "white_listed": event.white_listed, "reasons": reasons, "as_of": event.at}
    doc["version"] += 2
    uow.put_view(CLASSIFICATIONS, event.merchant_id, doc)
    return doc


def reclassify_all(
    store: EventStore, rules: InspectionRules, now: datetime, batch: int = 500
) -> dict:
    """Every merchant again at `now` (time alone moves days since red, yellow days in the
    window, green streaks, findings repaired and visits this year), `batch` merchants per
    unit of work. Returns {merchants, changed}."""
    merchants = changed = 0
    after = ""
    while rows := store.list_views(FACTS, after, batch):
        with store.unit_of_work() as uow:
            for key, listed in rows:
                # Read again inside the unit of work: an event folded since the page was
                # listed (a finding, a refund) must not be overwritten by the older facts.
                changed += reclassify(uow, uow.get_view(FACTS, key) or listed, now, rules)
                merchants += 1
        after = rows[-1][0]
    return {"merchants": merchants, "changed": changed}


def reclassify(uow: UnitOfWork, facts_doc: dict, now: datetime, rules: InspectionRules) -> bool:
    """One merchant's stored facts again at `now`, as the timer does; True when a
    ClassificationChanged was written."""
    facts = MerchantFacts.from_doc(facts_doc)
    prune(facts, china_day(now), keep_days(rules))
    return _classify(uow, facts, now, rules, None, stored_facts=facts_doc)
