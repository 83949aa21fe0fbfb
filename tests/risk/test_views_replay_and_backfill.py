"""The city's, the lists', the history's and the watch list's views are what the events say:
a replay from position 0 rebuilds them equal to the live ones; and a store from before those
views has them filled at start (and the names on the first scheduled run) as a replay would,
but for the days before each merchant's last evaluation (real SQLite, no nameko)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from services.risk.application import backfill, city, history, public_lists, watch
from services.risk.application.replay import replay
from tests.support.merchant_port import FakeMerchants
from tests.support.risk_city import RULES, T0, Recording, card, flag, publish, shops, status

CITY = (city.MERCHANTS, city.SHARES, city.INDUSTRIES, city.DAYS)
VIEWS = (*CITY, history.DAYS, *public_lists.VIEWS, *watch.VIEWS)
PROFILES = {
    "m-gym": {"name": "店 m-gym", "industry": "fitness"},
    "m-school": {"name": "店 m-school", "industry": "education"},
    "m-cafe": {"name": "店 m-cafe", "industry": "catering"},
    "m-spa": {"name": "店 m-spa", "industry": "beauty"},
}


@pytest.fixture
def city_script(tmp_path):
    """A small city over ten days: cards, a refund, a delisting and its reinstatement, a
    debtor, an abnormal-operations listing and a default."""
    live = SqliteEventStore(tmp_path / "risk.db")
    script = Recording(live, tmp_path)
    shops(script, {m: p["industry"] for m, p in PROFILES.items()})
    later = {  # in time order, as a replay folds them
        2: lambda at: status(script, "m-cafe", "delisted", at),
        3: lambda at: publish(
            script,
            "escrow.CardRefunded",
            at,
            merchant_id="m-gym",
            card_id="m-gym-2",
            consumer_id="c-1",
            rule="on_request",
            refund_amount=10_000,
            inputs={},
        ),
        4: lambda at: status(script, "m-cafe", "active", at),
        5: lambda at: flag(script, "m-spa", at),
        6: lambda at: flag(script, "m-school", at, name="abnormal_operations"),
        8: lambda at: status(script, "m-gym", "defaulted", at),
    }
    for day in range(1, 10):
        at = T0 + timedelta(days=day)
        card(script, "m-gym", day + 1, at)
        card(script, "m-school", day + 1, at, amount=30_000, upfront=5_000)
        if day in later:
            later[day](at + timedelta(hours=1))
    yield script
    script.close()
    live.close()


def views(store, names=VIEWS) -> dict[str, list]:
    return {name: store.list_views(name, "", 100_000) for name in names}


def test_a_replay_rebuilds_the_views_equal_to_the_live_ones(city_script, tmp_path):
    live = views(city_script.live)
    assert all(live[name] for name in VIEWS if not name.startswith("watch_by_dept")), {
        name: len(rows) for name, rows in live.items()
    }
    fresh = SqliteEventStore(tmp_path / "fresh.db")
    try:
        replay(list(city_script.sources.values()), city_script.live, fresh, rules=RULES)
        assert views(fresh) == live
    finally:
        fresh.close()


def _as_before_the_views(store) -> None:
    with store.unit_of_work() as uow:
        for name in VIEWS:
            for key, _ in store.list_views(name, "", 100_000):
                uow.delete_view(name, key)


def test_a_store_from_before_has_its_views_filled_once_at_start_and_names_on_first_run(
    city_script,
):
    store = city_script.live
    live, rows = views(store), city.by_industry(store=store)
    _as_before_the_views(store)
    assert not any(views(store).values())

    assert backfill.fill_views(store, now=T0 + timedelta(days=10)) == len(PROFILES)
    assert backfill.fill_views(store, now=T0 + timedelta(days=10)) is None, "once"
    merchants = FakeMerchants(profiles=PROFILES)
    assert backfill.learn_names(store, merchants, now=T0 + timedelta(days=10)) == len(PROFILES)
    assert backfill.learn_names(store, merchants, now=T0 + timedelta(days=10)) is None
    assert len(merchants.asked) == 1

    filled = views(store)
    for name in (city.MERCHANTS, city.SHARES, *public_lists.VIEWS, *watch.VIEWS):
        assert filled[name] == live[name], name
    # Counted under "other" until the names came: an empty "other" row stays, unshown.
    assert city.by_industry(store=store) == rows
    # The days: each merchant counted into the day of its last evaluation, so the city as of
    # the last day is right; and that day is in its history.
    first, last = T0.date().isoformat(), (T0 + timedelta(days=9)).date().isoformat()
    as_of_last = city.by_day(first, last, store=store)["total"]
    assert {k: v for k, v in as_of_last.items() if k != "key"} == rows["total"]
    assert {k for k, _ in filled[history.DAYS]} <= {k for k, _ in live[history.DAYS]}
    assert len(filled[history.DAYS]) == len(PROFILES)


def test_lists_kept_before_departments_are_filed_under_them_at_start(city_script):
    store = city_script.live
    live = views(store, public_lists.VIEWS)
    with store.unit_of_work() as uow:  # as main kept them: no industry, no department pages
        for key, standing in store.list_views(public_lists.STANDINGS, "", 1000):
            old = {k: standing[k] for k in ("list", "merchant_id", "since", "reason_code")}
            uow.put_view(public_lists.STANDINGS, key, old)
            uow.put_view(public_lists.LISTS[old["list"]], f"{old['since']}|{key}", old)
        for view in public_lists.BY_DEPT.values():
            for key, _ in store.list_views(view, "", 1000):
                uow.delete_view(view, key)
    assert backfill.fill_views(store, now=T0 + timedelta(days=10)) == len(PROFILES)
    assert views(store, public_lists.VIEWS) == live
