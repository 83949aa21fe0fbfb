"""The 风险预警名单 (watch list): every merchant whose health code is yellow or red now, with
its reasons, kept in each assessment's unit of work (so a replay rebuilds it), and keyed so
each of the regulator's filters is a merge of at most two prefix scans, oldest `since` first.

watch_standings   merchant id -> {merchant_id, code, since, industry, department, reasons}
watch_by_code     "<code>/<since>|<merchant id>" -> {merchant_id}: by code
watch_by_both     "<code>/<department>/<since>|<merchant id>" -> {merchant_id}: by both
The whole list merges the yellow/ and red/ prefixes of watch_by_code, a department's merges
yellow/<department>/ and red/<department>/ of watch_by_both; a page reads its entries from
the standings by id. (A store from before kept the whole entry under each key, and two more
collections, watch_all and watch_by_dept: backfill.compact_views drops those once.)
"""

from __future__ import annotations

import heapq

from eventstore import EventStore, UnitOfWork
from services.risk.application.city import MERCHANTS
from services.risk.domain.departments import department_of_industry

STANDINGS, BY_CODE, BY_BOTH = "watch_standings", "watch_by_code", "watch_by_both"
RETIRED = ("watch_all", "watch_by_dept")
"""Collections of a store from before, no longer read or written."""
WATCHED = ("yellow", "red")
VIEWS = (STANDINGS, BY_CODE, BY_BOTH)


def _keys(entry: dict) -> list[tuple[str, str]]:
    tail = f"{entry['since']}|{entry['merchant_id']}"
    return [
        (BY_CODE, f"{entry['code']}/{tail}"),
        (BY_BOTH, f"{entry['code']}/{entry['department']}/{tail}"),
    ]


def update(
    uow: UnitOfWork,
    merchant_id: str,
    *,
    code: str,
    since: str,
    reasons: list,
    known: dict | None = None,
) -> None:
    """The merchant's code after an assessment; a green merchant leaves the list (`known`:
    its city_merchants row, when the caller has read it already)."""
    before = uow.get_view(STANDINGS, merchant_id)
    if before is None and code not in WATCHED:
        return
    if known is None:
        known = uow.get_view(MERCHANTS, merchant_id) or {}
    industry = known.get("industry") or "other"
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
    """Writes only what changed: the standing, and the keys it gains or loses."""
    if before == now:
        return
    old = _keys(before) if before is not None else []
    new = _keys(now) if now is not None else []
    for view, key in old:
        if (view, key) not in new:
            uow.delete_view(view, key)
    for view, key in new:
        if (view, key) not in old:
            uow.put_view(view, key, {"merchant_id": merchant_id})
    if now is None:
        uow.delete_view(STANDINGS, merchant_id)
    else:
        uow.put_view(STANDINGS, merchant_id, now)


def _scan(store: EventStore, view: str, prefixes: list[str], after: str, limit: int) -> list:
    """The first `limit + 1` tails (`<since>|<merchant id>`) after `after` under the prefixes,
    in order, each with the key it was found under."""
    streams = []
    for prefix in prefixes:
        rows = store.list_views(view, prefix + after, limit + 1)
        streams.append([(key[len(prefix) :], key) for key, _ in rows if key.startswith(prefix)])
    return list(heapq.merge(*streams))[: limit + 1]


def watched(
    *,
    store: EventStore,
    code: str | None = None,
    department: str | None = None,
    after: str = "",
    limit: int = 100,
) -> dict:
    """A page of the list, longest watched first, with each merchant's name; `after` is the
    previous page's `next_after` (`<since>|<merchant id>`)."""
    if limit < 1:
        raise ValueError("a page holds at least one row")
    codes = [code] if code else list(WATCHED)
    if department:
        view, prefixes = BY_BOTH, [f"{c}/{department}/" for c in codes]
    else:
        view, prefixes = BY_CODE, [f"{c}/" for c in codes]
    found = _scan(store, view, prefixes, after, limit)
    page, more = found[:limit], len(found) > limit
    ids = [tail.split("|", 1)[1] for tail, _ in page]
    standings, names = store.get_views(STANDINGS, ids), store.get_views(MERCHANTS, ids)
    items = []
    for merchant_id, (_, key) in zip(ids, page, strict=True):
        entry = standings.get(merchant_id)
        if entry is None or (view, key) not in _keys(entry):
            continue  # it left the list, or moved, since its key was read
        items.append({**entry, "name": names.get(merchant_id, {}).get("name", "")})
    return {"items": items, "next_after": page[-1][0] if more else None}
