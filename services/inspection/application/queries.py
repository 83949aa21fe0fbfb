"""The inspection service's reads: roster, plans, inspections, published results, figures."""

from __future__ import annotations

from collections import Counter

from eventstore import EventStore
from services.domain_errors import InvalidInput, NotFound
from services.inspection.application.store import (
    BY_EVIDENCE,
    BY_INSPECTOR,
    BY_MERCHANT,
    BY_PLAN,
    BY_YEAR,
    INSPECTIONS,
    INSPECTORS,
    PLANS,
    PUBLISHED,
)
from services.inspection.domain.rules import TIERS, InspectionRules
from services.paging import keyset_page

MAX_PAGE = 500


def _limit(limit: object) -> int:
    if type(limit) is not int or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit is 1..{MAX_PAGE}", "invalid_limit")
    return limit


def inspectors(store: EventStore, department: str | None = None) -> dict:
    items = [
        doc
        for _, doc in store.list_views(INSPECTORS, "", 1_000_000)
        if department is None or doc["department"] == department
    ]
    return {"items": items}


def plan(store: EventStore, plan_id: str) -> dict:
    """The plan; its seed only once drawn (None before), never the secret view."""
    doc = store.get_view(PLANS, plan_id) if isinstance(plan_id, str) else None
    if doc is None:
        raise NotFound(f"no plan {plan_id}", "plan_not_found")
    return doc


def plans(store: EventStore, department: str | None = None, after: str = "", limit: int = 100):
    keep = (
        (lambda key, doc: True)
        if department is None
        else (lambda key, doc: doc["department"] == department)
    )
    page = keyset_page(store.list_views, PLANS, "", after or "", _limit(limit), keep)
    return {
        "items": [_plan_summary(doc) for _, doc in page["rows"]],
        "next_after": page["next_after"],
    }


def _plan_summary(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in ("inspections", "unstaffed")}


def inspection(store: EventStore, inspection_id: str) -> dict:
    doc = store.get_view(INSPECTIONS, inspection_id) if isinstance(inspection_id, str) else None
    if doc is None:
        raise NotFound(f"no inspection {inspection_id}", "inspection_not_found")
    return doc


def announced(inspection: dict) -> bool:
    """What the inspected merchant may know of: a visit once an inspector checked in (a visit
    announced beforehand is no random inspection), a data check once recorded."""
    return inspection.get("status") not in NOT_ANNOUNCED


NOT_ANNOUNCED = ("planned", "drawn", "data_checked")
"""Visits nobody has checked in to, and a failed data check before it is published (it
raised a visit)."""


def inspections(
    store: EventStore,
    *,
    assignee: str | None = None,
    merchant_id: str | None = None,
    plan_id: str | None = None,
    after: str = "",
    limit: int = 100,
    announced_only: bool = False,
) -> dict:
    chosen = [
        (c, v)
        for c, v in ((BY_INSPECTOR, assignee), (BY_MERCHANT, merchant_id), (BY_PLAN, plan_id))
        if v
    ]
    if len(chosen) != 1:
        raise InvalidInput("give exactly one of assignee, merchant_id or plan_id", "invalid_filter")
    collection, value = chosen[0]
    found: dict[str, dict | None] = {}

    def keep(key: str, ref: dict) -> bool:
        found[ref["id"]] = store.get_view(INSPECTIONS, ref["id"])
        doc = found[ref["id"]]
        return doc is not None and (not announced_only or announced(doc))

    page = keyset_page(store.list_views, collection, f"{value}/", after or "", _limit(limit), keep)
    return {
        "items": [found[ref["id"]] for _, ref in page["rows"]],
        "next_after": page["next_after"],
    }


def evidence_inspections(store: EventStore, evidence_sha256: str) -> dict:
    """The inspections whose rectification names the evidence file, each {inspection_id,
    merchant_id, inspectors}: who besides its uploader and the regulators may read it."""
    if not isinstance(evidence_sha256, str) or "/" in evidence_sha256:
        raise InvalidInput("evidence_sha256 is 64 lowercase hex", "invalid_evidence")
    prefix, items = f"{evidence_sha256}/", []
    page = store.list_views(BY_EVIDENCE, prefix, MAX_PAGE)
    for key, ref in page:
        if not key.startswith(prefix):
            break
        doc = store.get_view(INSPECTIONS, ref["id"])
        if doc is not None:
            items.append({k: doc[k] for k in ("inspection_id", "merchant_id", "inspectors")})
    return {"items": items}


def published(store: EventStore, merchant_id: str, after: str = "", limit: int = 100) -> dict:
    """The merchant's published results, oldest first: no inspector ids, no notes."""
    page = keyset_page(store.list_views, PUBLISHED, f"{merchant_id}/", after or "", _limit(limit))
    return {"items": [doc for _, doc in page["rows"]], "next_after": page["next_after"]}


def stats(store: EventStore, year: int, rules: InspectionRules, today: str) -> dict:
    """The year's (China's) figures, read from the year's rows of `inspections_by_year` only.
    `visits` counts each department's visit-mode inspection someone checked in to that year,
    `data_checks` those recorded that year. `quota` is the visits the tier's merchants visited
    this year could have had (quota × merchants), `quota_used` the trips they had (a joint
    visit counts once, as for the quota); `share_without_visit_bp` = data checks /
    (data checks + visits) in basis points; `overdue_rectifications` the minor findings due
    that year, before `today`, not accepted."""
    if type(year) is not int or not 2000 <= year <= 2100:
        raise InvalidInput("year is 2000..2100", "invalid_year")
    visits: Counter[str] = Counter()
    checks: Counter[str] = Counter()
    visited: dict[str, set[str]] = {tier: set() for tier in TIERS}
    trips: dict[str, set[str]] = {tier: set() for tier in TIERS}
    overdue = 0
    prefix = f"{year}/"
    after = prefix
    while page := store.list_views(BY_YEAR, after, 1000):
        after = page[-1][0]
        if not after.startswith(prefix):
            page = [(key, row) for key, row in page if key.startswith(prefix)]
        for key, row in page:
            kind, rest = key[len(prefix) :].split("/", 1)
            if kind == "visit":
                visits[row["tier"]] += 1
                visited[row["tier"]].add(row["merchant_id"])
                trips[row["tier"]].add(row["trip"])
            elif kind == "data":
                checks[row["tier"]] += 1
            elif kind == "due" and rest[:10] < today:
                overdue += 1
        if not after.startswith(prefix):
            break
    total_visits, total_checks = sum(visits.values()), sum(checks.values())
    both = total_visits + total_checks
    return {
        "year": year,
        "by_tier": {
            tier: {
                "visits": visits[tier],
                "data_checks": checks[tier],
                "quota": rules.quota_per_year[tier] * len(visited[tier]),
                "quota_used": len(trips[tier]),
            }
            for tier in TIERS
        },
        "visits": total_visits,
        "data_checks": total_checks,
        "share_without_visit_bp": total_checks * 10_000 // both if both else 0,
        "overdue_rectifications": overdue,
    }
