"""Filling the views added after stores existed, once, from what the risk service already
keeps: a store from before the city's figures, the 红黑榜, the health history and the watch
list has them empty until a replay.

`fill_views` runs at start (RiskStore.setup), guarded by a marker: from each merchant's
figures and code (risk_figures, health_codes) it adds the city's shares and industry rows,
the public lists, the watch list, and the day of its last evaluation in its health history.
The city's days and the history before that day are not in those views: the figures count
into the day of the last evaluation, and only a replay (replay.py) spreads them over the
days the events happened.

`learn_names` runs on the first scheduled run: the merchants' names and industries are the
merchant service's (the Merchants port), asked for in pages; each merchant already counted
under "other" moves to its industry and department. Idempotent, then marked done.

`compact_views` runs at start too, once (marker "refs-v14"): a store from before the alert
queue's and the watch list's keys held references kept the whole alert or entry under each
key, and two watch list collections no longer used (watch_all, watch_by_dept). Those keys
are never read for their document (a page reads the alert or the standing by id), so such a
store works as it is; the compaction only gives the space back: it drops the two retired
collections and rewrites each key's document as the reference.
"""

from __future__ import annotations

from datetime import datetime

from eventstore import EventStore
from services.risk.application import alerts, city, history, public_lists, watch
from services.risk.application.assessment import figures_from_doc
from services.risk.application.ports import Merchants
from services.risk.application.projections import CODES, FIGURES, MARKERS, QUEUE, view_pages

VIEWS_DONE, NAMES_DONE, REFS_DONE = "views-v13", "names-v13", "refs-v14"
BATCH = 200
_pages = view_pages


def _mark(store: EventStore, marker: str, at: datetime, counted: int) -> None:
    with store.unit_of_work() as uow:
        uow.put_view(MARKERS, marker, {"at": at.isoformat(), "merchants": counted})


def fill_views(store: EventStore, *, now: datetime, batch: int = BATCH) -> int | None:
    """Adds every assessed merchant to the views it is missing from; None when done before."""
    if store.get_view(MARKERS, VIEWS_DONE) is not None:
        return None
    counted = 0
    for page in _pages(store, CODES, batch):
        with store.unit_of_work() as uow:
            for merchant_id, code in page:
                doc = uow.get_view(FIGURES, merchant_id)
                if doc is None:
                    continue
                figures = figures_from_doc(doc)
                at = code["evaluated_at"]
                if uow.get_view(city.SHARES, merchant_id) is None:
                    city.account(uow, figures, code["code"], at)
                if uow.get_view(public_lists.STANDINGS, merchant_id) is not None:
                    public_lists.refile(uow, merchant_id)  # listed before departments
                else:
                    public_lists.update(
                        uow,
                        merchant_id,
                        code=code["code"],
                        status=figures.status,
                        flags=figures.flags,
                        at=code["since"] if code["code"] == "red" else at,
                    )
                if uow.get_view(watch.STANDINGS, merchant_id) is None:
                    watch.update(
                        uow,
                        merchant_id,
                        code=code["code"],
                        since=code["since"],
                        reasons=code["reasons"],
                    )
                history.keep_day(uow, merchant_id, at[:10], code["code"], code["metrics"])
                counted += 1
    _mark(store, VIEWS_DONE, now, counted)
    return counted


def learn_names(
    store: EventStore, merchants: Merchants, *, now: datetime, batch: int = BATCH
) -> int | None:
    """Names and industries of the assessed merchants risk has none for, from the merchant
    service; None when done before."""
    if store.get_view(MARKERS, NAMES_DONE) is not None:
        return None
    learnt = 0
    for page in _pages(store, CODES, batch):
        missing = [m for m, _ in page if store.get_view(city.MERCHANTS, m) is None]
        if not missing:
            continue
        found = merchants.profiles(missing)
        with store.unit_of_work() as uow:
            for merchant_id, profile in found.items():
                data = {"merchant_id": merchant_id, **profile}
                code = uow.get_view(CODES, merchant_id) or {"evaluated_at": now.isoformat()}
                city.learn_merchant(uow, data, code["evaluated_at"])
                public_lists.refile(uow, merchant_id)
                watch.refile(uow, merchant_id)
                learnt += 1
    if learnt:
        alerts.refile_unknown(store)
    _mark(store, NAMES_DONE, now, learnt)
    return learnt


def _reference(view: str, key: str) -> dict:
    """What a key of the queue or of the watch list holds: the id its tail ends with."""
    name = "alert_id" if view == QUEUE else "merchant_id"
    return {name: key.rsplit("|", 1)[1]}


def compact_views(store: EventStore, *, now: datetime, batch: int = 500) -> int | None:
    """Drops the retired watch list collections and makes every queue and watch list key
    hold its reference (see the module's docstring); None when done before. Returns the rows
    dropped or rewritten; interrupted, it does the rest next time."""
    if store.get_view(MARKERS, REFS_DONE) is not None:
        return None
    changed = 0
    for view in watch.RETIRED:
        while rows := store.list_views(view, "", batch):
            with store.unit_of_work() as uow:
                for key, _ in rows:
                    uow.delete_view(view, key)
            changed += len(rows)
    for view in (QUEUE, watch.BY_CODE, watch.BY_BOTH):
        for page in _pages(store, view, batch):
            stale = [(k, _reference(view, k)) for k, doc in page if doc != _reference(view, k)]
            if stale:
                with store.unit_of_work() as uow:
                    for key, reference in stale:
                        uow.put_view(view, key, reference)
                changed += len(stale)
    with store.unit_of_work() as uow:
        uow.put_view(MARKERS, REFS_DONE, {"at": now.isoformat(), "rows": changed})
    return changed
