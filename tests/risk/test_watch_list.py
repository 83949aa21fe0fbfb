"""The 风险预警名单 and the department filters of the lists, as views of the events over a
real SQLite store; and a delisted merchant relisted leaves the red list unless still red."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from services.risk.application import public_lists, queries, watch
from tests.support.risk_city import T0, applied, card, flag, shops, status


@pytest.fixture
def store(tmp_path):
    opened = SqliteEventStore(tmp_path / "risk.db")
    yield opened
    opened.close()


def ids(page):
    return [(e["merchant_id"], e["code"], e["department"]) for e in page["items"]]


def test_the_watch_list_holds_yellow_and_red_merchants_filtered_by_code_and_department(store):
    shops(store, {"m-gym": "fitness", "m-school": "education", "m-cafe": "catering"})
    flag(store, "m-gym", T0 + timedelta(hours=1))  # red, 体育局
    flag(store, "m-cafe", T0 + timedelta(hours=2))  # red, 商务局
    assert ids(watch.watched(store=store)) == [
        ("m-gym", "red", "sports"),
        ("m-cafe", "red", "commerce"),
    ], "longest watched first; the green school is not on it"
    entry = watch.watched(store=store)["items"][0]
    assert entry["name"] == "店 m-gym" and entry["industry"] == "fitness"
    assert entry["reasons"] == [
        {"indicator": "flag:dishonest_debtor", "value": True, "threshold": "not listed"}
    ]
    assert ids(watch.watched(store=store, code="red", department="commerce")) == [
        ("m-cafe", "red", "commerce")
    ]
    assert ids(watch.watched(store=store, department="sports")) == [("m-gym", "red", "sports")]
    assert watch.watched(store=store, code="yellow")["items"] == []
    first = watch.watched(store=store, code="red", limit=1)
    assert ids(first) == [("m-gym", "red", "sports")] and first["next_after"]
    rest = watch.watched(store=store, code="red", after=first["next_after"], limit=1)
    assert ids(rest) == [("m-cafe", "red", "commerce")] and rest["next_after"] is None


def test_a_merchant_seen_before_its_application_is_refiled_under_its_department(store):
    card(store, "m-late", 1, T0)
    flag(store, "m-late", T0 + timedelta(minutes=1))
    assert ids(watch.watched(store=store)) == [("m-late", "red", "commerce")]
    applied(store, "m-late", "education", T0 + timedelta(minutes=2))
    assert ids(watch.watched(store=store, department="education")) == [
        ("m-late", "red", "education")
    ]
    assert watch.watched(store=store, department="commerce")["items"] == []
    black = public_lists.listed("black", store=store, department="education")["items"]
    assert [(e["merchant_id"], e["industry"]) for e in black] == [("m-late", "education")]
    assert public_lists.listed("black", store=store, department="commerce")["items"] == []


def test_the_red_list_by_department_and_a_reinstated_merchant_leaves_it(store):
    shops(store, {"m-gym": "fitness", "m-school": "education"})
    status(store, "m-gym", "delisted", T0 + timedelta(hours=1))
    status(store, "m-school", "delisted", T0 + timedelta(hours=1))
    flag(store, "m-school", T0 + timedelta(hours=2), name="abnormal_operations")
    sports = public_lists.listed("red", store=store, department="sports")["items"]
    assert [(e["merchant_id"], e["department"], e["reason_code"]) for e in sports] == [
        ("m-gym", "sports", "delisted")
    ]
    # Red only for its delisting: relisted, it is what its figures say at once, off the lists.
    assert queries.codes(["m-gym"], store=store)["m-gym"]["code"] == "red"
    status(store, "m-gym", "active", T0 + timedelta(hours=3))
    assert queries.codes(["m-gym"], store=store)["m-gym"]["code"] == "green"
    assert public_lists.listed("red", store=store, department="sports")["items"] == []
    assert [e["merchant_id"] for e in watch.watched(store=store)["items"]] == ["m-school"]
    # Red for a listing too: relisted, it stays red and on the red list, as red_code.
    status(store, "m-school", "active", T0 + timedelta(hours=4))
    red = public_lists.listed("red", store=store)["items"]
    assert [(e["merchant_id"], e["reason_code"]) for e in red] == [("m-school", "red_code")]
