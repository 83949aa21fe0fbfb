"""The alert queue's and the watch list's keys hold references (the id), a page reads the
alert or the standing by id; the whole watch list and a department's merge two key prefixes;
an assessment writes no row that did not change; and a store from before (whole documents
under each key, two more watch list collections) works as it is and is compacted once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from services.risk.application import backfill, city, commands, projections, watch
from services.risk.application.projections import MARKERS, QUEUE
from tests.support.alert_queue import RULES, T0, open_stores, page, seed, step, walk


@pytest.fixture
def stores(tmp_path):
    yield from open_stores(tmp_path)


@pytest.fixture
def store(tmp_path):
    opened = SqliteEventStore(tmp_path / "risk.db")
    yield opened
    opened.close()


def test_queue_keys_hold_the_alert_id_and_a_page_reads_the_alert_as_it_is_now(stores):
    risk = stores["risk"]
    ids = seed(stores, 3)
    rows = risk.list_views(QUEUE, "", 1000)
    assert len(rows) == 3 * 4, "one key per facet"
    assert all(doc == {"alert_id": key.rsplit("|", 1)[1]} for key, doc in rows)
    step(risk, ids[1], "acknowledged")
    assert [a["alert_id"] for a in walk(risk, 1)[0]] == [ids[0], ids[2]]
    acknowledged = page(risk, status="acknowledged")["items"]
    assert [(a["alert_id"], a["status"], len(a["steps"])) for a in acknowledged] == [
        (ids[1], "acknowledged", 1)
    ]


def test_a_queue_key_left_behind_by_a_changed_alert_lists_nothing(stores):
    risk = stores["risk"]
    ids = seed(stores, 2)
    stale = next(k for k, _ in risk.list_views(QUEUE, "all||open|", 10) if k.endswith(ids[0]))
    step(risk, ids[0], "acknowledged")
    with risk.unit_of_work() as uow:  # as if read before the step moved it
        uow.put_view(QUEUE, stale, {"alert_id": ids[0]})
    assert [a["alert_id"] for a in page(risk)["items"]] == [ids[1]]


def watched_entry(store, merchant_id, code, since, department_industry):
    with store.unit_of_work() as uow:
        city.learn_merchant(
            uow,
            {"merchant_id": merchant_id, "name": merchant_id, "industry": department_industry},
            since,
        )
        watch.update(uow, merchant_id, code=code, since=since, reasons=[])


def walk_watch(store, limit, **filters):
    seen, after = [], ""
    while True:
        found = watch.watched(store=store, after=after, limit=limit, **filters)
        seen += [(e["merchant_id"], e["code"]) for e in found["items"]]
        assert len(found["items"]) <= limit
        if found["next_after"] is None:
            return seen
        after = found["next_after"]


def test_the_whole_watch_list_and_a_departments_merge_yellow_and_red_oldest_first(store):
    t = [(T0 + timedelta(minutes=i)).isoformat() for i in range(6)]
    watched_entry(store, "m-a", "red", t[0], "fitness")
    watched_entry(store, "m-b", "yellow", t[1], "fitness")
    watched_entry(store, "m-c", "red", t[2], "education")
    watched_entry(store, "m-d", "yellow", t[3], "fitness")
    watched_entry(store, "m-e", "red", t[4], "fitness")
    watched_entry(store, "m-f", "green", t[5], "fitness")
    everyone = [
        ("m-a", "red"),
        ("m-b", "yellow"),
        ("m-c", "red"),
        ("m-d", "yellow"),
        ("m-e", "red"),
    ]
    for limit in (1, 2, 5, 100):
        assert walk_watch(store, limit) == everyone
    sports = [m for m in everyone if m[0] != "m-c"]
    for limit in (1, 3, 100):
        assert walk_watch(store, limit, department="sports") == sports
    assert walk_watch(store, 1, code="yellow", department="sports") == [
        ("m-b", "yellow"),
        ("m-d", "yellow"),
    ]
    first = watch.watched(store=store, limit=2)
    assert first["next_after"] == f"{t[1]}|m-b", "the cursor is the key's tail, as before"
    assert store.list_views(watch.BY_CODE, "", 10)[0][1] == {"merchant_id": "m-a"}


def test_a_merchant_that_left_the_list_after_its_key_was_read_is_not_listed(store):
    watched_entry(store, "m-a", "red", T0.isoformat(), "fitness")
    key = store.list_views(watch.BY_CODE, "", 10)[0][0]
    with store.unit_of_work() as uow:
        watch.update(uow, "m-a", code="green", since=T0.isoformat(), reasons=[])
        uow.put_view(watch.BY_CODE, key, {"merchant_id": "m-a"})  # as if read before
    assert watch.watched(store=store)["items"] == []


class Counting:
    """A unit of work that counts the rows put, by collection."""

    def __init__(self, uow):
        self.uow, self.puts = uow, {}

    def put_view(self, collection, key, doc):
        self.puts[collection] = self.puts.get(collection, 0) + 1
        self.uow.put_view(collection, key, doc)

    def __getattr__(self, name):
        return getattr(self.uow, name)


def test_a_reassessment_that_changes_nothing_writes_only_the_code_and_a_changed_day(stores):
    risk = stores["risk"]
    seed(stores, 1)
    later = T0 + timedelta(days=1)
    for expected_days in (1, 0):
        with risk.unit_of_work() as uow:
            counting = Counting(uow)
            commands.assess(counting, "m-000", as_of=later, rules=RULES)
        assert counting.puts == {
            projections.CODES: 1,
            **({"health_days": 1} if expected_days else {}),
        }


def test_a_move_between_industries_writes_each_row_once(store):
    with store.unit_of_work() as uow:
        counting = Counting(uow)
        city.learn_merchant(
            counting, {"merchant_id": "m-a", "name": "a", "industry": "fitness"}, "2026-09-01"
        )
        before = {"industry": "other", "row": city.city.empty_row()}
        after = {"industry": "other", "row": {**city.city.empty_row(), "merchants": 1}}
        city._move(counting, "m-a", before, after, "2026-09-01T00:00:00+00:00")
    assert counting.puts[city.INDUSTRIES] == 1 and counting.puts[city.DAYS] == 1


def test_a_store_from_before_works_as_it_is_and_is_compacted_once(stores):
    risk = stores["risk"]
    ids = seed(stores, 3)
    watched_entry(risk, "m-w", "yellow", T0.isoformat(), "fitness")
    pages_before = (walk(risk, 2)[0], watch.watched(store=risk, department="sports"))
    with risk.unit_of_work() as uow:  # the layout before: whole documents, two more views
        for key, _ in risk.list_views(QUEUE, "", 1000):
            alert = risk.get_view(projections.ALERTS, key.rsplit("|", 1)[1])
            uow.put_view(QUEUE, key, alert)
        for view in (watch.BY_CODE, watch.BY_BOTH):
            for key, ref in risk.list_views(view, "", 1000):
                uow.put_view(view, key, risk.get_view(watch.STANDINGS, ref["merchant_id"]))
        for standing in (d for _, d in risk.list_views(watch.STANDINGS, "", 1000)):
            tail = f"{standing['since']}|{standing['merchant_id']}"
            uow.put_view("watch_all", tail, standing)
            uow.put_view("watch_by_dept", f"{standing['department']}/{tail}", standing)
    assert (walk(risk, 2)[0], watch.watched(store=risk, department="sports")) == pages_before
    old_rows = 3 * 4 + 4 * 4  # queue keys; 4 watched: 2 keys and 2 rows of retired views each
    assert backfill.compact_views(risk, now=T0) == old_rows
    assert backfill.compact_views(risk, now=T0) is None, "once"
    assert risk.get_view(MARKERS, backfill.REFS_DONE)["rows"] == old_rows
    for view in watch.RETIRED:
        assert risk.list_views(view, "", 10) == []
    assert all(
        doc == {"alert_id": k.rsplit("|", 1)[1]} for k, doc in risk.list_views(QUEUE, "", 100)
    )
    assert (walk(risk, 2)[0], watch.watched(store=risk, department="sports")) == pages_before
    assert ids
