"""e码查 visits and 一公开: check-in, result, rectification, acceptance and publication.

* check_in: only an assigned inspector (others get 404 `not_your_inspection`), with the
  merchant's current code; refused (422 `inspector_blocked`) when domain/visits.py's rule
  blocks this inspector at this merchant this year; a visit beyond the tier's yearly quota
  checks in with `warning: "over_quota"` (the quota counts trips: a joint visit's other
  departments check in on the same trip, projections.py). Checking in again returns the
  first check-in.
* record_result: none and serious publish at once (closed / referred); minor orders a
  rectification within 1..90 days and publishes when the regulator accepts it.
* publish_overdue (the timer): a result still unpublished `publish_within_working_days`
  working days (Mon–Fri) after it was recorded is published as it stands: a minor one as
  `rectification_overdue` when its deadline passed, else `rectification_ordered`. It reads
  only the `inspection_publish_due` rows due by today, not every inspection.

Years (the quota's, the block's) and days (working days, deadlines) are China's
(domain/calendar.py): a check-in at 2027-01-01T01:00+08:00 counts in 2027.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eventstore import EventStore
from services.domain_errors import BusinessRuleViolation, InvalidInput, NotFound
from services.inspection.application import codes, projections
from services.inspection.application.ports import Classifications
from services.inspection.application.store import (
    FINDINGS,
    INSPECTIONS,
    MERCHANT_IDS,
    PUBLISH_DUE,
    append,
    inspection_stream,
)
from services.inspection.domain.calendar import (
    china_day,
    china_time,
    china_year,
    working_days_between,
)
from services.inspection.domain.classification import FINDINGS as FINDING_KINDS
from services.inspection.domain.events import (
    CheckedIn,
    RectificationAccepted,
    RectificationSubmitted,
    ResultPublished,
    ResultRecorded,
)
from services.inspection.domain.rules import InspectionRules
from services.inspection.domain.visits import inspector_blocked

_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_NOTE = 2000


def _load(store: EventStore, inspection_id: str) -> dict:
    doc = store.get_view(INSPECTIONS, inspection_id) if isinstance(inspection_id, str) else None
    if doc is None:
        raise NotFound(f"no inspection {inspection_id}", "inspection_not_found")
    return doc


def _assigned(store: EventStore, inspection_id: str, inspector_id: str) -> dict:
    doc = store.get_view(INSPECTIONS, inspection_id) if isinstance(inspection_id, str) else None
    if doc is None or inspector_id not in doc["inspectors"]:
        raise NotFound("no such inspection of yours", "not_your_inspection")
    return doc


def _commit(store: EventStore, doc: dict, events: list[object], metadata, rules) -> None:
    stream = inspection_stream(doc["inspection_id"])
    version = len(store.read_stream(stream))
    with store.unit_of_work() as uow:
        for encoded in append(uow, stream, events, version, metadata):
            projections.project(uow, encoded.type, encoded.data, encoded.id, rules)


def visits_this_year(
    store: EventStore, merchant_id: str, year: int, but: str = "", trip: str = ""
) -> int:
    """The merchant's trips in the (China) year: its checked-in visits, a joint visit's
    departments counted once (projections.py), each trip in the year of its first check-in;
    leaving out the inspection `but` and the trip `trip`."""
    ids = (store.get_view(MERCHANT_IDS, merchant_id) or {"ids": []})["ids"]
    first: dict[str, str] = {}
    for inspection_id in ids:
        doc = store.get_view(INSPECTIONS, inspection_id)
        if doc and inspection_id != but and doc["check_ins"]:
            at = doc["check_ins"][0]["at"]
            key = doc.get("trip") or inspection_id
            first[key] = min(first.get(key, at), at, key=china_time)
    first.pop(trip, None)
    return sum(china_year(at) == year for at in first.values())


def check_in(
    inspection_id: str,
    inspector_id: str,
    merchant_code: str,
    *,
    store: EventStore,
    key: Ed25519PrivateKey,
    classifications: Classifications,
    rules: InspectionRules,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    doc = _assigned(store, inspection_id, inspector_id)
    for earlier in doc["check_ins"]:
        if earlier["inspector_id"] == inspector_id:
            return _checked_in(inspection_id, earlier)
    if doc["mode"] != "visit":
        raise BusinessRuleViolation("a data check has no visit to check in to", "not_a_visit")
    codes.verify(merchant_code, doc["merchant_id"], key=key, now=now)
    year = china_year(now)
    key_ = f"{inspector_id}/{doc['merchant_id']}/{year}"
    findings = (store.get_view(FINDINGS, key_) or {"findings": []})["findings"]
    blocked, reasons = inspector_blocked(findings, rules)
    if blocked:
        raise BusinessRuleViolation(
            "该检查人员本年度已多次检查该商户且未发现问题，不得再次检查 "
            "(blocked after visits with no finding this year)",
            "inspector_blocked",
            {"reasons": reasons},
        )
    tier = doc.get("tier") or classifications.tier(doc["merchant_id"]) or "D"
    # Both inspectors of one visit, and the departments of one joint visit, see the same
    # answer: the merchant's other trips count.
    trip = projections.trip_of(store, doc, now.isoformat())
    over_quota = (
        visits_this_year(store, doc["merchant_id"], year, but=inspection_id, trip=trip)
        >= rules.quota_per_year[tier]
    )
    event = CheckedIn(inspection_id, doc["merchant_id"], inspector_id, over_quota, now.isoformat())
    _commit(store, doc, [event], metadata, rules)
    return _checked_in(inspection_id, {"at": event.at, "over_quota": over_quota})


def _checked_in(inspection_id: str, check_in: dict) -> dict:
    answer = {
        "inspection_id": inspection_id,
        "checked_in_at": check_in["at"],
        "over_quota": check_in["over_quota"],
    }
    if check_in["over_quota"]:
        answer["warning"] = "over_quota"
    return answer


def _note(note: object) -> str:
    if note is None:
        return ""
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        raise InvalidInput(f"note is text of at most {MAX_NOTE} characters", "invalid_note")
    return note


def record_result(
    inspection_id: str,
    inspector_id: str,
    finding: str,
    note: str,
    rectification_days: int | None,
    *,
    store: EventStore,
    rules: InspectionRules,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    doc = _assigned(store, inspection_id, inspector_id)
    if finding not in FINDING_KINDS:
        raise InvalidInput("finding is none, minor or serious", "invalid_finding")
    note = _note(note)
    if inspector_id not in {c["inspector_id"] for c in doc["check_ins"]}:
        raise BusinessRuleViolation("check in with the merchant's code first", "not_checked_in")
    if doc["result"] is not None:
        raise BusinessRuleViolation("this inspection has its result", "result_already_recorded")
    due = None
    if finding == "minor":
        if type(rectification_days) is not int or not 1 <= rectification_days <= 90:
            raise InvalidInput(
                "a minor finding needs rectification_days 1..90", "invalid_rectification_days"
            )
        due = (china_day(now) + timedelta(days=rectification_days)).isoformat()
    at = now.isoformat()
    events: list[object] = [
        ResultRecorded(
            inspection_id,
            doc["merchant_id"],
            finding,
            note,
            due,
            finding == "serious",
            inspector_id,
            at,
        )
    ]
    if finding != "minor":
        status = "referred" if finding == "serious" else "closed"
        events.append(_publication(doc, finding, status, at))
    _commit(store, doc, events, metadata, rules)
    return _load(store, inspection_id)


def _publication(doc: dict, finding: str, status: str, at: str) -> ResultPublished:
    return ResultPublished(
        doc["inspection_id"],
        doc["merchant_id"],
        doc["department"],
        doc["mode"],
        finding,
        status,
        at,
    )


def submit_rectification(
    inspection_id: str,
    merchant_id: str,
    evidence_sha256: str,
    note: str,
    *,
    store: EventStore,
    rules: InspectionRules,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    doc = _load(store, inspection_id)
    if doc["merchant_id"] != merchant_id:
        raise NotFound(f"no inspection {inspection_id}", "inspection_not_found")
    if not isinstance(evidence_sha256, str) or not _SHA256.fullmatch(evidence_sha256):
        raise InvalidInput("evidence_sha256 is 64 lowercase hex", "invalid_evidence")
    note = _note(note)
    result = doc["result"] or {}
    if result.get("finding") != "minor" or doc["rectification"] is not None:
        raise BusinessRuleViolation("no rectification is due here", "no_rectification_due")
    event = RectificationSubmitted(
        inspection_id, merchant_id, evidence_sha256, note, now.isoformat()
    )
    _commit(store, doc, [event], metadata, rules)
    return _load(store, inspection_id)


def accept_rectification(
    inspection_id: str,
    by: str,
    *,
    store: EventStore,
    rules: InspectionRules,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    doc = _load(store, inspection_id)
    rectification = doc["rectification"]
    if rectification is None or rectification["accepted_at"] is not None:
        raise BusinessRuleViolation(
            "no rectification awaits acceptance", "no_rectification_submitted"
        )
    at = now.isoformat()
    events = [
        RectificationAccepted(inspection_id, doc["merchant_id"], by, at),
        _publication(doc, "minor", "rectified", at),
    ]
    _commit(store, doc, events, metadata, rules)
    return _load(store, inspection_id)


__all__ = ["working_days_between"]


def publish_overdue(*, store: EventStore, rules: InspectionRules, now: datetime) -> int:
    """Publishes every result left unpublished past the working-day limit; returns how many.
    Reads the `inspection_publish_due` rows due by today (China's), oldest first."""
    today = china_day(now).isoformat()
    published = 0
    after = ""
    while page := store.list_views(PUBLISH_DUE, after, 500):
        after = page[-1][0]
        for key, _ in page:
            if key[:10] > today:
                return published
            doc = store.get_view(INSPECTIONS, key.split("|", 1)[1])
            if doc is None or doc["published"] is not None:
                continue
            if doc["mode"] == "data" and doc["data_check"] and not doc["data_check"]["passed"]:
                event = _publication(doc, "none", "visit_raised", now.isoformat())
                _commit(store, doc, [event], {}, rules)
                published += 1
                continue
            if doc["result"] is None:
                continue
            if (doc["rectification"] or {}).get("accepted_at"):
                continue
            result = doc["result"]
            overdue = result["rectification_due"] and result["rectification_due"] < today
            status = "rectification_overdue" if overdue else "rectification_ordered"
            _commit(
                store,
                doc,
                [_publication(doc, result["finding"], status, now.isoformat())],
                {},
                rules,
            )
            published += 1
    return published
