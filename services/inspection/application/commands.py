"""The roster, plans and the 双随机 draw, with the 无感 data checks it starts. Plain functions
over the store, the rules, a clock and the ports (Ledger, Classifications).

A plan is committed before it is drawn: `open_plan` makes a fresh seed (secrets.token_bytes,
kept in the `plan_secrets` view only, never in an event before the draw), snapshots the
eligible list into `plan_eligible`, and commits both hashes in PlanCommitted, whose event id
is the plan's `ledger_event_id`. `draw` refuses (409 `commitment_not_notarised`) until the
ledger answers a receipt for that event, then runs domain/draw.py, publishes the seed
(PlanDrawn), runs the data checks of the data-mode inspections (DataCheckRecorded; each is
published at once: a passed one `closed`, a failed one `visit_raised` with finding "none",
and the visit it raises publishes its own result) in the same unit of work. A second
draw returns the first one's answer.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime

from eventstore import NO_STREAM, EventStore
from services.domain_errors import Conflict, InvalidInput, NotFound
from services.inspection.application import projections
from services.inspection.application.ports import Classifications, Ledger
from services.inspection.application.store import (
    FINDINGS,
    INSPECTORS,
    PLAN_ELIGIBLE,
    PLAN_SECRETS,
    PLANS,
    append,
    inspection_stream,
    inspector_stream,
    plan_stream,
)
from services.inspection.domain import draw as drawing
from services.inspection.domain.events import (
    DataCheckRecorded,
    InspectorEnrolled,
    PlanCommitted,
    PlanDrawn,
    ResultPublished,
    VisitRaised,
)
from services.inspection.domain.rules import InspectionRules
from services.inspection.domain.visits import inspector_blocked
from services.paging import CHUNK, keyset_page

DEPARTMENTS = ("samr", "commerce", "education", "sports", "association")
"""The regulators' departments (services/risk/domain/departments.py names them)."""
_PERIOD = re.compile(r"(\d{4})(Q[1-4])?")
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
INSPECTORS_PER_VISIT = 2


def _department(department: object) -> str:
    if department not in DEPARTMENTS:
        raise InvalidInput(
            f"department must be one of {', '.join(DEPARTMENTS)}", "invalid_department"
        )
    return str(department)


def rows_under(store: EventStore, collection: str, prefix: str) -> Iterator[tuple[str, dict]]:
    """Every (key after `prefix`, doc) of `collection` under `prefix`, a page at a time."""
    after: str | None = ""
    while after is not None:
        page = keyset_page(store.list_views, collection, prefix, after, CHUNK)
        yield from page["rows"]
        after = page["next_after"]


def enrol_inspector(
    inspector_id: str,
    department: str,
    conflicts: list[str],
    by: str,
    *,
    store: EventStore,
    rules: InspectionRules,
    now: datetime,
    blocked: bool = False,
    metadata: dict | None = None,
) -> dict:
    """Enrols (or re-enrols, replacing the conflicts) an inspector in a department's roster."""
    if not isinstance(inspector_id, str) or not _ID.fullmatch(inspector_id):
        raise InvalidInput(
            "inspector_id must be 1..64 letters, digits or _.:-", "invalid_inspector"
        )
    department = _department(department)
    if not isinstance(conflicts, list) or not all(
        isinstance(c, str) and _ID.fullmatch(c) for c in conflicts
    ):
        raise InvalidInput("conflicts must be a list of merchant ids", "invalid_conflicts")
    if not isinstance(blocked, bool):
        raise InvalidInput("blocked must be true or false", "invalid_input")
    event = InspectorEnrolled(
        inspector_id, department, sorted(set(conflicts)), blocked, by, now.isoformat()
    )
    stream = inspector_stream(inspector_id)
    version = len(store.read_stream(stream))
    with store.unit_of_work() as uow:
        for encoded in append(uow, stream, [event], version, metadata):
            projections.project(uow, encoded.type, encoded.data, encoded.id, rules)
    return {k: v for k, v in event.__dict__.items()}


def draw_rules(rules: InspectionRules, period: str) -> drawing.DrawRules:
    """A quarter's plan draws a quarter of the year's share; a year's plan all of it."""
    return drawing.DrawRules(
        shares=dict(rules.sampling_percent),
        periods=4 if "Q" in period else 1,
        inspectors_per_visit=INSPECTORS_PER_VISIT,
    )


def roster(store: EventStore, department: str, year: str, rules: InspectionRules) -> list[dict]:
    """The department's inspectors for the draw: {inspector_id, conflicts, blocked}, where
    `blocked` lists the merchants the e码查 rule bars them from this year; an inspector
    enrolled as blocked is left out."""
    enrolled = [
        doc
        for _, doc in rows_under(store, INSPECTORS, "")
        if doc["department"] == department and not doc["blocked"]
    ]
    result = []
    for doc in sorted(enrolled, key=lambda d: d["inspector_id"]):
        barred = []
        # Only this inspector's rows: read by prefix a page at a time, never past it.
        for key, seen in rows_under(store, FINDINGS, f"{doc['inspector_id']}/"):
            merchant_id, in_year = key.split("/")
            if in_year == year and inspector_blocked(seen["findings"], rules)[0]:
                barred.append(merchant_id)
        result.append(
            {
                "inspector_id": doc["inspector_id"],
                "conflicts": list(doc["conflicts"]),
                "blocked": sorted(barred),
            }
        )
    return result


def _plan_id(
    department: str, period: str, kind: str, reason: str, by: str, metadata: dict | None
) -> str:
    """A department's routine plan for a period is one plan: opening it again is 409
    `plan_exists`, so nobody can draw again and again until the draw suits them. A special
    plan (a campaign, a complaint) is one per request, with its reason on record."""
    if kind == "routine":
        parts: tuple[str, ...] = ("routine", department, period)
    else:
        correlation = (metadata or {}).get("correlation_id") or uuid.uuid4().hex
        parts = ("special", department, period, reason, by, correlation)
    return "pl-" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def _overlapping(
    department: str, period: str, kind: str, reason: str, by: str, metadata: dict | None
) -> list[str]:
    """The routine plans a routine plan for `period` may not sit beside: a year's plan and
    its quarters' plans draw the same year's share, so either the year or its quarters."""
    if kind != "routine":
        return []
    year = period[:4]
    others = [year] if "Q" in period else [f"{year}Q{n}" for n in range(1, 5)]
    return [_plan_id(department, other, kind, reason, by, metadata) for other in others]


def open_plan(
    department: str,
    period: str,
    kind: str,
    by: str,
    *,
    reason: str = "",
    store: EventStore,
    classifications: Classifications,
    rules: InspectionRules,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    department = _department(department)
    match = _PERIOD.fullmatch(period) if isinstance(period, str) else None
    if match is None:
        raise InvalidInput("period is YYYY or YYYYQn (n = 1..4)", "invalid_period")
    if kind not in drawing.KINDS:
        raise InvalidInput("kind is routine or special", "invalid_kind")
    if not isinstance(reason, str) or len(reason) > 500:
        raise InvalidInput("reason is at most 500 characters", "invalid_reason")
    if kind == "special" and not reason.strip():
        raise InvalidInput(
            "a special plan visits beyond the quotas and the white list: give its reason"
            " (a complaint, a campaign)",
            "reason_required",
        )
    merchants = sorted(
        (
            {
                "merchant_id": m["merchant_id"],
                "tier": m["tier"],
                "white_listed": bool(m.get("white_listed", False)),
                "at_quota": bool(m.get("at_quota", False)),
            }
            for m in classifications.eligible(department, kind)
        ),
        key=lambda m: m["merchant_id"],
    )
    eligible = {
        "kind": kind,
        "merchants": merchants,
        "inspectors": roster(store, department, match.group(1), rules),
        "rules": drawing.rules_as_listed(draw_rules(rules, period)),
    }
    seed = secrets.token_bytes(32)
    plan_id = _plan_id(department, period, kind, reason, by, metadata)
    event = PlanCommitted(
        plan_id=plan_id,
        department=department,
        period=period,
        kind=kind,
        seed_commitment=drawing.commitment(seed),
        eligible_hash=drawing.eligible_hash(eligible),
        merchants=len(merchants),
        inspectors=len(eligible["inspectors"]),
        by=by,
        at=now.isoformat(),
        reason=reason.strip(),
    )
    event_id = str(uuid.uuid4())
    with store.unit_of_work() as uow:
        for clash in [plan_id, *_overlapping(department, period, kind, reason, by, metadata)]:
            if uow.get_view(PLANS, clash) is not None:
                raise Conflict(
                    f"{department} has a routine plan overlapping {period} already: {clash}",
                    "plan_exists",
                )
        uow.put_view(PLAN_SECRETS, plan_id, {"seed": seed.hex()})
        uow.put_view(PLAN_ELIGIBLE, plan_id, eligible)
        for encoded in append(uow, plan_stream(plan_id), [event], NO_STREAM, metadata, [event_id]):
            projections.project(uow, encoded.type, encoded.data, encoded.id, rules)
        plan = uow.get_view(PLANS, plan_id) or {}
    return _opened(plan)


def _opened(plan: dict) -> dict:
    return {
        "plan_id": plan["plan_id"],
        "status": plan["status"],
        "seed_commitment": plan["seed_commitment"],
        "eligible_hash": plan["eligible_hash"],
        "ledger_event_id": plan["ledger_event_id"],
    }


def drawn(store: EventStore, plan_id: str) -> dict:
    """The draw's answer: the published inputs and what they chose."""
    plan = store.get_view(PLANS, plan_id)
    if plan is None or plan["status"] != "drawn":
        raise NotFound(f"plan {plan_id} is not drawn", "plan_not_found")
    eligible = store.get_view(PLAN_ELIGIBLE, plan_id)
    return {
        "plan_id": plan_id,
        "seed": plan["seed"],
        "eligible": eligible,
        "inspections": plan["inspections"],
        "unstaffed": plan["unstaffed"],
    }


def draw(
    plan_id: str,
    by: str,
    *,
    store: EventStore,
    ledger: Ledger,
    classifications: Classifications,
    rules: InspectionRules,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    plan = store.get_view(PLANS, plan_id)
    if plan is None:
        raise NotFound(f"no plan {plan_id}", "plan_not_found")
    if plan["status"] == "drawn":
        return drawn(store, plan_id)
    if ledger.receipt(plan["ledger_event_id"]) is None:
        raise Conflict(
            "the plan's commitment is not in the ledger yet; draw again shortly",
            "commitment_not_notarised",
        )
    secret = store.get_view(PLAN_SECRETS, plan_id)
    eligible = store.get_view(PLAN_ELIGIBLE, plan_id)
    assert secret is not None and eligible is not None, "kept by open_plan"
    seed = secret["seed"]
    # The rules are the list's own, committed with it (a policy changed since changes nothing);
    # a list committed before lists carried them is drawn by its period, as it was then.
    fallback = None if "rules" in eligible else draw_rules(rules, plan["period"])
    result = drawing.draw(seed, eligible, fallback, kind=plan["kind"])
    at = now.isoformat()
    try:
        _record_draw(store, plan, seed, eligible, result, classifications, rules, at, metadata)
    except Conflict:
        # A concurrent draw of the plan won (PostgreSQL's READ COMMITTED lets both get this
        # far): the same seed drew the same inspections, so its answer is this one's.
        if (store.get_view(PLANS, plan_id) or {}).get("status") != "drawn":
            raise
    return drawn(store, plan_id)


def _record_draw(
    store: EventStore,
    plan: dict,
    seed: str,
    eligible: dict,
    result: dict,
    classifications: Classifications,
    rules: InspectionRules,
    at: str,
    metadata: dict | None,
) -> None:
    plan_id = plan["plan_id"]
    with store.unit_of_work() as uow:
        if (uow.get_view(PLANS, plan_id) or {}).get("status") == "drawn":
            return  # a concurrent draw won
        plan_events: list[object] = [
            PlanDrawn(plan_id, seed, result["inspections"], result["unstaffed"], at)
        ]
        checked: list[tuple[str, list[object]]] = []
        for entry in result["inspections"]:
            if entry["mode"] != "data":
                continue
            merchant_id, inspection_id = entry["merchant_id"], entry["inspection_id"]
            passed, checks = classifications.data_check(merchant_id)
            steps: list[object] = [
                DataCheckRecorded(inspection_id, merchant_id, list(checks), bool(passed), at)
            ]
            # 一公开: a passed data check is published at once. A failed one raises a visit,
            # and publishing it now would tell the merchant a visit is coming: the timer
            # publishes it (`visit_raised`, finding "none") with the working days' limit,
            # and the visit publishes its own finding.
            if passed:
                steps.append(
                    ResultPublished(
                        inspection_id, merchant_id, plan["department"], "data", "none", "closed", at
                    )
                )
            else:
                plan_events.append(raised_visit(inspection_id, merchant_id, plan_id, eligible, at))
            checked.append((inspection_stream(inspection_id), steps))
        _commit(uow, plan_stream(plan_id), plan_events[:1], 1, metadata, rules)
        for stream, steps in checked:
            _commit(uow, stream, steps, NO_STREAM, metadata, rules)
        _commit(uow, plan_stream(plan_id), plan_events[1:], 2, metadata, rules)


def _commit(uow, stream: str, events: list[object], version: int, metadata, rules) -> None:
    if not events:
        return
    for encoded in append(uow, stream, events, version, metadata):
        projections.project(uow, encoded.type, encoded.data, encoded.id, rules)


def raised_id(data_check_id: str) -> str:
    return "in-" + hashlib.sha256(f"visit:{data_check_id}".encode()).hexdigest()[:16]


def raised_visit(
    data_check_id: str, merchant_id: str, plan_id: str, eligible: dict, at: str
) -> VisitRaised:
    """The visit a failed data check raises: its id and its two inspectors are drawn as the
    draw does (the roster minus the conflicted and blocked, stream "inspectors:<merchant>"),
    seeded by SHA-256 of the data check's inspection id, so anyone can re-run it."""
    seed = hashlib.sha256(data_check_id.encode()).digest()
    free = sorted(
        i["inspector_id"]
        for i in eligible["inspectors"]
        if merchant_id not in set(i.get("conflicts", [])) | set(i.get("blocked", []))
    )
    inspectors = (
        drawing.pick(drawing.Stream(seed, f"inspectors:{merchant_id}"), free, INSPECTORS_PER_VISIT)
        if len(free) >= INSPECTORS_PER_VISIT
        else []
    )
    return VisitRaised(
        raised_id(data_check_id), merchant_id, plan_id, "data_check_failed", inspectors, at
    )
