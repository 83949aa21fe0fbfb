"""The inspection service's views, from its own events (the same fold live and in a replay).

* `plans/<plan>`: the plan, its commitment and, once drawn, its seed and draw.
* `inspections/<id>`: one inspection: plan, department, merchant, tier, mode, inspectors,
  status, data check, check-ins, result, rectification, publication and `joint_with`.
* Indexes `inspections_by_{inspector,merchant,plan}/<who>/<id>`, the e码查 block's
  `inspector_findings/<inspector>/<merchant>/<year>` and `published_results`; the timer's
  `inspection_publish_due`, the figures' `inspections_by_year` and the evidence readers'
  `inspections_by_evidence` (store.py says their keys). Years and days are China's
  (domain/calendar.py).

综合查一次 (`joint_with`): each visit is dated by the day its plan was drawn (or its data check
raised it). Whenever a visit is created, the merchant's visits nobody has checked in to yet
are grouped by domain/visits.merge_visits (a visit joins the earliest group of that merchant
whose first visit is at most `merge_window_days` earlier and has no visit of its department);
every visit's `joint_with` is the other visits of its group, so the departments go together.
A visit that has happened leaves the merging (its `joint_with` stays as it was): a visit drawn
later cannot join a trip already made.

Trips (the quota's count): each department's inspection is checked in by its own inspectors
(they record its result), but a joint visit made together is one trip. A visit's first
check-in fixes its `trip`: that of a visit of its `joint_with` first checked in the same China
day (the departments at the door together), else its own id. The quota (visits_this_year, in
the classification and at check-in) counts trips, each in the China year of its first
check-in.
"""

from __future__ import annotations

from eventstore import UnitOfWork
from services.inspection.application import classifications
from services.inspection.application.store import (
    BY_EVIDENCE,
    BY_INSPECTOR,
    BY_MERCHANT,
    BY_PLAN,
    BY_YEAR,
    FINDINGS,
    INSPECTIONS,
    INSPECTORS,
    MERCHANT_IDS,
    PLAN_ELIGIBLE,
    PLANS,
    PUBLISH_DUE,
    PUBLISHED,
)
from services.inspection.domain.calendar import add_working_days, china_day, china_year
from services.inspection.domain.rules import InspectionRules
from services.inspection.domain.visits import Visit, merge_visits

MERGEABLE = ("planned",)
"""The visits 综合查一次 still groups: those nobody has checked in to."""


def project(uow: UnitOfWork, event_type: str, data: dict, event_id: str, rules: InspectionRules):
    handler = _HANDLERS.get(event_type.removeprefix("inspection.").removesuffix(".v1"))
    if handler is not None:
        handler(uow, data, event_id, rules)
    if event_type in classifications.RELEVANT:  # a finding or a visit moves the credit grade
        if event_type == "inspection.CheckedIn.v1":  # the quota counts trips
            data = {**data, "trip": _inspection(uow, data["inspection_id"]).get("trip")}
        classifications.observe(uow, event_type, data, data["at"], rules)


def _enrolled(uow: UnitOfWork, data: dict, event_id: str, rules: InspectionRules) -> None:
    uow.put_view(INSPECTORS, data["inspector_id"], dict(data))


def _committed(uow: UnitOfWork, data: dict, event_id: str, rules: InspectionRules) -> None:
    uow.put_view(
        PLANS,
        data["plan_id"],
        {**data, "status": "committed", "ledger_event_id": event_id, "seed": None},
    )


def _new_inspection(
    uow: UnitOfWork, plan: dict, entry: dict, tier: str | None, at: str, **extra
) -> dict:
    inspection_id = entry["inspection_id"]
    doc = {
        "inspection_id": inspection_id,
        "plan_id": plan["plan_id"],
        "department": plan["department"],
        "period": plan["period"],
        "merchant_id": entry["merchant_id"],
        "tier": tier,
        "mode": entry["mode"],
        "inspectors": list(entry["inspectors"]),
        "status": "planned",
        "created_at": at,
        "data_check": None,
        "check_ins": [],
        "result": None,
        "rectification": None,
        "published": None,
        "joint_with": [],
        **extra,
    }
    uow.put_view(INSPECTIONS, inspection_id, doc)
    uow.put_view(BY_MERCHANT, f"{entry['merchant_id']}/{inspection_id}", {"id": inspection_id})
    known = uow.get_view(MERCHANT_IDS, entry["merchant_id"]) or {"ids": []}
    uow.put_view(MERCHANT_IDS, entry["merchant_id"], {"ids": [*known["ids"], inspection_id]})
    uow.put_view(BY_PLAN, f"{plan['plan_id']}/{inspection_id}", {"id": inspection_id})
    for inspector in entry["inspectors"]:
        uow.put_view(BY_INSPECTOR, f"{inspector}/{inspection_id}", {"id": inspection_id})
    return doc


def _drawn(uow: UnitOfWork, data: dict, event_id: str, rules: InspectionRules) -> None:
    plan = uow.get_view(PLANS, data["plan_id"])
    assert plan is not None, "a plan is committed before it is drawn"
    eligible = uow.get_view(PLAN_ELIGIBLE, data["plan_id"]) or {"merchants": []}
    tiers = {m["merchant_id"]: m["tier"] for m in eligible["merchants"]}
    for entry in data["inspections"]:
        _new_inspection(uow, plan, entry, tiers.get(entry["merchant_id"]), data["at"])
        if entry["mode"] == "visit":
            _merge(uow, entry["merchant_id"], rules)
    uow.put_view(
        PLANS,
        plan["plan_id"],
        {
            **plan,
            "status": "drawn",
            "seed": data["seed"],
            "drawn_at": data["at"],
            "inspections": data["inspections"],
            "unstaffed": data["unstaffed"],
        },
    )


def _raised(uow: UnitOfWork, data: dict, event_id: str, rules: InspectionRules) -> None:
    plan = uow.get_view(PLANS, data["plan_id"])
    assert plan is not None
    source = next(
        (
            doc
            for doc in _of_merchant(uow, data["merchant_id"])
            if doc["plan_id"] == data["plan_id"] and doc["mode"] == "data"
        ),
        None,
    )
    entry = {**data, "mode": "visit"}
    _new_inspection(
        uow,
        plan,
        entry,
        source["tier"] if source else None,
        data["at"],
        raised_from=source["inspection_id"] if source else None,
        reason=data["reason"],
    )
    _merge(uow, data["merchant_id"], rules)


def _of_merchant(uow: UnitOfWork, merchant_id: str) -> list[dict]:
    index = uow.get_view(MERCHANT_IDS, merchant_id) or {"ids": []}
    docs = [uow.get_view(INSPECTIONS, i) for i in index["ids"]]
    return [d for d in docs if d is not None]


def _merge(uow: UnitOfWork, merchant_id: str, rules: InspectionRules) -> None:
    open_visits = [
        d
        for d in _of_merchant(uow, merchant_id)
        if d["mode"] == "visit" and d["status"] in MERGEABLE
    ]
    groups = merge_visits(
        [
            Visit(
                d["inspection_id"],
                merchant_id,
                d["department"],
                china_day(d["created_at"]),
            )
            for d in open_visits
        ],
        rules,
    )
    by_id = {d["inspection_id"]: d for d in open_visits}
    for group in groups:
        for visit_id in group.visit_ids:
            others = [v for v in group.visit_ids if v != visit_id]
            doc = by_id[visit_id]
            if doc["joint_with"] != others:
                _put(uow, {**doc, "joint_with": others})


def _put(uow: UnitOfWork, doc: dict) -> None:
    uow.put_view(INSPECTIONS, doc["inspection_id"], doc)


def _inspection(uow: UnitOfWork, inspection_id: str) -> dict:
    doc = uow.get_view(INSPECTIONS, inspection_id)
    assert doc is not None, f"inspection {inspection_id} is projected before its steps"
    return doc


def _tier(doc: dict) -> str:
    return doc.get("tier") or "D"


def _data_checked(uow: UnitOfWork, data: dict, event_id: str, rules: InspectionRules) -> None:
    doc = _inspection(uow, data["inspection_id"])
    check = {"checks": data["checks"], "passed": data["passed"], "at": data["at"]}
    publish_due = None
    if not data["passed"]:  # published by the timer, not before the visit it raises
        due = add_working_days(china_day(data["at"]), rules.publish_within_working_days)
        publish_due = f"{due.isoformat()}|{doc['inspection_id']}"
        uow.put_view(PUBLISH_DUE, publish_due, {})
    _put(uow, {**doc, "data_check": check, "status": "data_checked", "publish_due": publish_due})
    key = f"{china_year(data['at'])}/data/{doc['inspection_id']}"
    uow.put_view(BY_YEAR, key, {"tier": _tier(doc)})


def trip_of(views, doc: dict, at: str) -> str:
    """The visit's trip, checking in at `at`: fixed at its first check-in; before it, the trip
    of a visit of its joint visit first checked in the same China day, else its own id.
    `views`: a store or unit of work."""
    if doc.get("trip"):
        return str(doc["trip"])
    day = china_day(at)
    joined = (views.get_view(INSPECTIONS, other) for other in doc["joint_with"])
    together = sorted(
        (o["check_ins"][0]["at"], o["trip"])
        for o in joined
        if o and o.get("trip") and china_day(o["check_ins"][0]["at"]) == day
    )
    return together[0][1] if together else doc["inspection_id"]


def _checked_in(uow: UnitOfWork, data: dict, event_id: str, rules: InspectionRules) -> None:
    doc = _inspection(uow, data["inspection_id"])
    check_in = {k: data[k] for k in ("inspector_id", "over_quota", "at")}
    if not doc["check_ins"]:
        doc = {**doc, "trip": trip_of(uow, doc, data["at"])}
        row = {"tier": _tier(doc), "merchant_id": doc["merchant_id"], "trip": doc["trip"]}
        uow.put_view(BY_YEAR, f"{china_year(data['at'])}/visit/{doc['inspection_id']}", row)
    _put(uow, {**doc, "check_ins": [*doc["check_ins"], check_in], "status": "checked_in"})


def _due_key(rectification_due: str, inspection_id: str) -> str:
    return f"{rectification_due[:4]}/due/{rectification_due}/{inspection_id}"


def _result(uow: UnitOfWork, data: dict, event_id: str, rules: InspectionRules) -> None:
    doc = _inspection(uow, data["inspection_id"])
    result = {k: data[k] for k in ("finding", "note", "rectification_due", "referral", "by", "at")}
    status = "rectification_due" if data["finding"] == "minor" else "result_recorded"
    due = add_working_days(china_day(data["at"]), rules.publish_within_working_days)
    publish_due = f"{due.isoformat()}|{doc['inspection_id']}"
    uow.put_view(PUBLISH_DUE, publish_due, {})
    if data["rectification_due"]:
        uow.put_view(BY_YEAR, _due_key(data["rectification_due"], doc["inspection_id"]), {})
    _put(uow, {**doc, "result": result, "status": status, "publish_due": publish_due})
    year = china_year(data["at"])
    for inspector in sorted({c["inspector_id"] for c in doc["check_ins"]}):
        key = f"{inspector}/{doc['merchant_id']}/{year}"
        seen = uow.get_view(FINDINGS, key) or {"findings": []}
        uow.put_view(FINDINGS, key, {"findings": [*seen["findings"], data["finding"]]})


def _submitted(uow: UnitOfWork, data: dict, event_id: str, rules: InspectionRules) -> None:
    doc = _inspection(uow, data["inspection_id"])
    rectification = {
        "evidence_sha256": data["evidence_sha256"],
        "note": data["note"],
        "submitted_at": data["at"],
        "accepted_by": None,
        "accepted_at": None,
    }
    _put(uow, {**doc, "rectification": rectification, "status": "rectification_submitted"})
    uow.put_view(
        BY_EVIDENCE,
        f"{data['evidence_sha256']}/{doc['inspection_id']}",
        {"id": doc["inspection_id"]},
    )


def _accepted(uow: UnitOfWork, data: dict, event_id: str, rules: InspectionRules) -> None:
    doc = _inspection(uow, data["inspection_id"])
    rectification = {**doc["rectification"], "accepted_by": data["by"], "accepted_at": data["at"]}
    _put(uow, {**doc, "rectification": rectification, "status": "rectified"})
    due = (doc["result"] or {}).get("rectification_due")
    if due:
        uow.delete_view(BY_YEAR, _due_key(due, doc["inspection_id"]))


def _published(uow: UnitOfWork, data: dict, event_id: str, rules: InspectionRules) -> None:
    doc = _inspection(uow, data["inspection_id"])
    public = {k: data[k] for k in ("status", "finding", "at")}
    _put(uow, {**doc, "published": public, "status": "published"})
    if doc.get("publish_due"):
        uow.delete_view(PUBLISH_DUE, doc["publish_due"])
    key = f"{data['merchant_id']}/{data['at']}/{data['inspection_id']}"
    uow.put_view(PUBLISHED, key, dict(data))


_HANDLERS = {
    "InspectorEnrolled": _enrolled,
    "PlanCommitted": _committed,
    "PlanDrawn": _drawn,
    "VisitRaised": _raised,
    "DataCheckRecorded": _data_checked,
    "CheckedIn": _checked_in,
    "ResultRecorded": _result,
    "RectificationSubmitted": _submitted,
    "RectificationAccepted": _accepted,
    "ResultPublished": _published,
}
