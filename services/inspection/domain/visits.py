"""Visits: the e码查 block of an inspector who keeps finding nothing, and 综合查一次 (visits of
several departments to one merchant merged into one joint visit). Stdlib only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from services.inspection.domain.classification import FINDINGS
from services.inspection.domain.rules import InspectionRules


def inspector_blocked(
    findings_this_year: Sequence[str], rules: InspectionRules
) -> tuple[bool, list[dict]]:
    """`findings_this_year`: the finding ("none", "minor" or "serious") of each visit this
    inspector made to this merchant this calendar year. Blocked once `block_after_empty_visits`
    of them found nothing, whatever the others found (a finding does not reset the count)."""
    unknown = sorted(set(findings_this_year) - set(FINDINGS))
    if unknown:
        raise ValueError(f"a finding is one of {FINDINGS}, not {unknown}")
    empty = sum(finding == "none" for finding in findings_this_year)
    limit = rules.block_after_empty_visits
    blocked = empty >= limit
    threshold = f"{'>=' if blocked else '<'} {limit} visits with no finding this year"
    return blocked, [{"rule": "block_after_empty_visits", "value": empty, "threshold": threshold}]


@dataclass(frozen=True)
class Visit:
    """A department's planned visit to a merchant."""

    visit_id: str
    merchant_id: str
    department: str
    on: date


@dataclass(frozen=True)
class JointVisit:
    """One trip to the merchant: the merged visits, on the first one's day."""

    merchant_id: str
    on: date
    departments: tuple[str, ...]
    visit_ids: tuple[str, ...]


def merge_visits(visits: Iterable[Visit], rules: InspectionRules) -> list[JointVisit]:
    """综合查一次. The visits are taken in order of (day, department, visit_id). A visit joins
    the earliest group of the same merchant whose first visit is at most `merge_window_days`
    before it and which has no visit of its department yet; otherwise it starts a new group.
    So a group never spans more than the window from its first visit, each department appears
    in a group at most once, and the result does not depend on the order of the input. The
    joint visits come in order of (day, merchant_id, first visit_id)."""
    window = rules.merge_window_days
    groups: dict[str, list[list[Visit]]] = {}
    for visit in sorted(visits, key=lambda v: (v.on, v.department, v.visit_id)):
        open_groups = groups.setdefault(visit.merchant_id, [])
        for group in open_groups:
            if (visit.on - group[0].on).days <= window and visit.department not in {
                v.department for v in group
            }:
                group.append(visit)
                break
        else:
            open_groups.append([visit])
    joint = [
        JointVisit(
            merchant_id=group[0].merchant_id,
            on=group[0].on,
            departments=tuple(v.department for v in group),
            visit_ids=tuple(v.visit_id for v in group),
        )
        for merchant_groups in groups.values()
        for group in merchant_groups
    ]
    return sorted(joint, key=lambda j: (j.on, j.merchant_id, j.visit_ids[0]))
