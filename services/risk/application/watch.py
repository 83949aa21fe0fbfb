"""The 风险预警名单 (watch list): every merchant whose health code is yellow or red now, with
its reasons, kept in each assessment's unit of work (so a replay rebuilds it), and keyed so
each of the regulator's filters is one prefix scan, oldest `since` first.

watch_standings   merchant id -> {code, since, industry, department, reasons}
watch_all         "<since>|<merchant id>" -> the entry
watch_by_code     "<code>/<since>|<merchant id>" -> the entry: by code
watch_by_dept     "<department>/<since>|<merchant id>" -> the entry: by department
watch_by_both     "<code>/<department>/<since>|<merchant id>" -> the entry: by both
"""

from __future__ import annotations

from eventstore import EventStore, UnitOfWork
from services.paging import keyset_page
from services.risk.application.city import MERCHANTS
from services.risk.domain.departments import department_of_industry

STANDINGS, ALL = "watch_standings", "watch_all"
BY_CODE, BY_DEPT, BY_BOTH = "watch_by_code", "watch_by_dept", "watch_by_both"
WATCHED = ("yellow", "red")
VIEWS = (STANDINGS, ALL, BY_CODE, BY_DEPT, BY_BOTH)


def _keys(entry: dict) -> list[tuple[str, str]]:
    tail = f"{entry['since']}|{entry['merchant_id']}"
    return [
        (ALL, tail),
        (BY_CODE, f"{entry['code']}/{tail}"),
        (BY_DEPT, f"{entry['department']}/{tail}"),
        (BY_BOTH, f"{entry['code']}/{entry['department']}/{tail}"),
    ]


def update(uow: UnitOfWork, merchant_id: str, *, code: str, since: str, reasons: list) -> None:
    """The merchant's code after an assessment; a green merchant leaves the list."""
    before = uow.get_view(STANDINGS, merchant_id)
    industry = (uow.get_view(MERCHANTS, merchant_id) or {}).get("industry") or "other"
    now = None
    if code in WATCHED:
        now = {
            "merchant_id": merchant_id,
            "code": code,
            "since": since,
            "industry": industry,
            "department": department_of_industry(industry),
            "reasons": [
                {k: r.get(k) for k in ("indicator", "value", "threshold")} for r in reasons
            ],
        }
    _replace(uow, merchant_id, before, now)


def refile(uow: UnitOfWork, merchant_id: str) -> None:
    """The merchant's industry became known (its application came after a first event)."""
    before = uow.get_view(STANDINGS, merchant_id)
    if before is not None:
        update(
            uow, merchant_id, code=before["code"], since=before["since"], reasons=before["reasons"]
        )


def _replace(uow: UnitOfWork, merchant_id: str, before: dict | None, now: dict | None) -> None:
    if before == now:
        return
    if before is not None:
        for view, key in _keys(before):
            uow.delete_view(view, key)
    if now is None:
        uow.delete_view(STANDINGS, merchant_id)
        return
    for view, key in _keys(now):
        uow.put_view(view, key, now)
    uow.put_view(STANDINGS, merchant_id, now)


def watched(
    *,
    store: EventStore,
    code: str | None = None,
    department: str | None = None,
    after: str = "",
    limit: int = 100,
) -> dict:
    """A page of the list, longest watched first, with each merchant's name."""
    if code and department:
        view, prefix = BY_BOTH, f"{code}/{department}/"
    elif code:
        view, prefix = BY_CODE, f"{code}/"
    elif department:
        view, prefix = BY_DEPT, f"{department}/"
    else:
        view, prefix = ALL, ""
    found = keyset_page(store.list_views, view, prefix, after, limit)
    items = []
    for _, entry in found["rows"]:
        known = store.get_view(MERCHANTS, entry["merchant_id"]) or {}
        items.append({**entry, "name": known.get("name", "")})
    return {"items": items, "next_after": found["next_after"]}
