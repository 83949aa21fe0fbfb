"""The views the counter and the consumer's pages read, over a real SQLite store: the card
code and its lookup, redemption requests by consumer and merchant, a card's money history,
and the merchant's figures by day (live, and rebuilt by the start-up migration)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from services.domain_errors import InvalidInput, NotFound
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import (
    commands,
    daily_stats,
    migrations,
    queries,
    redemption_queries,
    scheduled_work,
)
from services.escrow.application.projections import CARD_CODES
from services.escrow.application.store import CODEC, card_stream, load_card
from services.escrow.domain import card_codes
from services.escrow.domain.card import Card
from tests.support.escrow_cards import POLICY, PRODUCTS, T0, buy


@pytest.fixture
def env(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db")
    yield store, SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    store.close()


def spend(store, card_id, value, *, confirm=True, when=T0, merchant="m-1"):
    hold = commands.request_redemption(
        card_id, merchant, value=value, uses=0, store=store, policy=POLICY, now=when
    )
    if confirm:
        commands.confirm_redemption(hold["redemption_id"], "c-1", store=store, now=when)
    return hold["redemption_id"]


# --- the card code -----------------------------------------------------------------------


def test_the_code_is_issued_in_the_purchase_commit_and_found_only_by_its_merchant(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]
    records = store.read_stream(card_stream(card_id))
    assert [r.type for r in records[:2]] == ["escrow.CardPurchased.v1", "escrow.CardCodeIssued.v1"]
    code = records[1].data["card_code"]
    assert card_codes.check_digit_holds(code)
    card = queries.get_card(card_id, store=store)
    assert card["card_code"] == code
    assert Card.from_events(card_id, (CODEC.decode(r) for r in records)).card_code == code

    grouped = card_codes.grouped(code)
    assert queries.card_at_counter("m-1", grouped, store=store)["card_id"] == card_id
    with pytest.raises(NotFound) as other:
        queries.card_at_counter("m-2", code, store=store)
    mistyped = code[:-1] + str((int(code[-1]) + 1) % 10)
    with pytest.raises(NotFound) as typo:
        queries.card_at_counter("m-1", mistyped, store=store)
    assert other.value.code == typo.value.code == "card_not_found"
    with pytest.raises(InvalidInput) as malformed:
        queries.card_at_counter("m-1", "12345", store=store)
    assert malformed.value.code == "invalid_card_code"


def test_a_code_already_held_by_the_merchant_is_drawn_again(env):
    store, bank = env
    draws = iter([42, 42, 43])
    bought = [
        commands.purchase_card(
            "c-1",
            "sv",
            store=store,
            merchants=PRODUCTS,
            bank=bank,
            policy=POLICY,
            now=T0,
            draw_code=lambda _: next(draws),
        )["card_id"]
        for _ in range(2)
    ]
    codes = [queries.get_card(c, store=store)["card_code"] for c in bought]
    assert codes == [card_codes.new_code(lambda _: 42), card_codes.new_code(lambda _: 43)]


def make_legacy_card(store, bank) -> str:
    """A card as bought before codes existed: its stream without CardCodeIssued, its views
    without a code (what the old code wrote)."""
    card_id = buy(store, bank)["card_id"]
    records = store.read_stream(card_stream(card_id))
    legacy_id = card_id + "-old"
    events = [CODEC.decode(r) for r in records if r.type != "escrow.CardCodeIssued.v1"]
    events = [
        type(e)(**{**vars(e), "card_id": legacy_id}) if hasattr(e, "card_id") else e for e in events
    ]
    with store.unit_of_work() as uow:
        uow.append(card_stream(legacy_id), [CODEC.encode(e) for e in events], 0)
        from services.escrow.application.projections import card_view

        view = card_view(Card.from_events(legacy_id, events))
        del view["card_code"]
        uow.put_view("cards", legacy_id, view)
    return legacy_id


def test_a_card_bought_before_codes_gets_its_derived_code_and_the_migration_indexes_it(env):
    store, bank = env
    legacy_id = make_legacy_card(store, bank)
    expected = card_codes.derived_code(legacy_id)
    assert load_card(store, legacy_id).card_code == expected
    assert queries.get_card(legacy_id, store=store)["card_code"] == expected
    with pytest.raises(NotFound):  # not indexed yet
        queries.card_at_counter("m-1", expected, store=store)
    with store.unit_of_work() as uow:
        uow.delete_view(migrations.MIGRATIONS, migrations.CARD_VIEWS_V2)
    assert migrations.backfill_card_views(store) == 2
    assert queries.card_at_counter("m-1", expected, store=store)["card_id"] == legacy_id
    assert migrations.backfill_card_views(store) == 0, "done once"
    assert store.get_view(CARD_CODES, f"m-1/{expected}") == {"card_id": legacy_id}


# --- redemption requests -----------------------------------------------------------------


def test_a_request_is_listed_pending_at_once_and_reads_expired_once_lapsed(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]
    rid = spend(store, card_id, 12_000, confirm=False)

    def listed(status, when):
        page = redemption_queries.redemptions_of("consumer", "c-1", status, store=store, now=when)
        return [(r["redemption_id"], r["status"]) for r in page["items"]]

    assert listed("pending", T0) == [(rid, "pending")]
    shown = redemption_queries.get_redemption(rid, store=store, now=T0)
    assert {k: shown[k] for k in ("card_id", "merchant_id", "amount", "status")} == {
        "card_id": card_id,
        "merchant_id": "m-1",
        "amount": 12_000,
        "status": "pending",
    }
    lapse = T0 + timedelta(minutes=POLICY.escrow.hold_expiry_minutes)
    assert listed("pending", lapse) == [], "past its time it is not pending any more"
    assert listed("expired", lapse) == [(rid, "expired")]
    assert redemption_queries.get_redemption(rid, store=store, now=lapse)["status"] == "expired"
    scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=lapse + timedelta(seconds=1))
    assert listed("all", lapse) == [(rid, "expired")]
    assert listed("all", T0) == [(rid, "expired")], "recorded: expired whatever the time"
    assert (
        redemption_queries.redemptions_of("consumer", "c-2", "all", store=store, now=T0)["items"]
        == []
    )


def test_each_side_sees_its_requests_by_status(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]
    confirmed = spend(store, card_id, 1_000)
    rejected = spend(store, card_id, 2_000, confirm=False)
    commands.void_redemption(rejected, "c-1", "rejected", store=store, now=T0)
    pending = spend(store, card_id, 3_000, confirm=False)
    for status, expected in {
        "pending": {pending},
        "confirmed": {confirmed},
        "rejected": {rejected},
        "all": {pending, confirmed, rejected},
    }.items():
        page = redemption_queries.redemptions_of("merchant", "m-1", status, store=store, now=T0)
        assert {r["redemption_id"] for r in page["items"]} == expected, status
    assert (
        redemption_queries.redemptions_of("merchant", "m-2", "all", store=store, now=T0)["items"]
        == []
    )
    with pytest.raises(InvalidInput):
        redemption_queries.redemptions_of("merchant", "m-1", "bogus", store=store, now=T0)
    page = redemption_queries.redemptions_of("merchant", "m-1", "all", store=store, now=T0, limit=2)
    rest = redemption_queries.redemptions_of(
        "merchant", "m-1", "all", store=store, now=T0, after=page["next_after"], limit=2
    )
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["next_after"] is None


def test_the_migration_fills_requests_recorded_before_their_full_view(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]
    rid = spend(store, card_id, 1_000)
    with store.unit_of_work() as uow:  # what the old code kept: the card and consumer only
        uow.put_view("redemptions", rid, {"card_id": card_id, "consumer_id": "c-1"})
        for key, _ in store.list_views("redemptions_by_consumer", "", 10):
            uow.delete_view("redemptions_by_consumer", key)
        uow.delete_view(migrations.MIGRATIONS, migrations.CARD_VIEWS_V2)
    assert redemption_queries.get_redemption(rid, store=store, now=T0)["status"] == "confirmed"
    migrations.backfill_card_views(store)
    page = redemption_queries.redemptions_of("consumer", "c-1", "confirmed", store=store, now=T0)
    assert [r["redemption_id"] for r in page["items"]] == [rid]


# --- the card's money history ------------------------------------------------------------


def test_the_history_lists_money_events_under_their_stored_ids(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]
    spend(store, card_id, 30_000)
    spend(store, card_id, 1_000, confirm=False)  # a request moves no money
    refund = commands.refund_card(
        card_id, "c-1", rule=None, store=store, bank=bank, policy=POLICY, now=T0 + timedelta(days=9)
    )
    history = queries.card_history(card_id, store=store)["items"]
    assert [(h["type"], h["amount"]) for h in history] == [
        ("deposit", 100_000),
        ("redemption_confirmed", 25_000),
        ("refund", 75_000),
    ]
    ids = {r.id for r in store.read_stream(card_stream(card_id))}
    assert {h["event_id"] for h in history} <= ids
    assert history[-1]["event_id"] == refund["event_id"] and history[-1]["rule"] == "on_request"
    with pytest.raises(NotFound):
        queries.card_history("card-none", store=store)


# --- figures by day ----------------------------------------------------------------------


def test_daily_rows_have_no_holes_and_end_at_the_totals(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]  # day 0: 1,000 yuan issued
    spend(store, card_id, 30_000, when=T0 + timedelta(days=2))  # day 2: 250 yuan released
    start, end = (T0 - timedelta(days=1)).date(), (T0 + timedelta(days=3)).date()
    rows = queries.merchant_daily_stats("m-1", start.isoformat(), end.isoformat(), store=store)
    items = rows["items"]
    assert [r["day"] for r in items] == [(start + timedelta(days=i)).isoformat() for i in range(5)]
    assert [r["issuance_amount"] for r in items] == [0, 100_000, 0, 0, 0]
    assert [r["redemption_amount"] for r in items] == [0, 0, 0, 25_000, 0]
    assert [r["escrow_held"] for r in items] == [0, 100_000, 100_000, 75_000, 75_000]
    totals = queries.merchant_stats("m-1", store=store)
    assert {k: items[-1][k] for k in daily_stats.LEVELS} == {
        k: totals[k] for k in daily_stats.LEVELS
    }
    # A range that ends before today's activity still gets the levels of its own days.
    early = queries.merchant_daily_stats("m-1", start.isoformat(), start.isoformat(), store=store)
    assert early["items"][0]["escrow_held"] == 0


@pytest.mark.parametrize(
    "start,end,code",
    [
        ("2026-11-02", "2026-11-01", "invalid_date_range"),
        ("2026-01-01", "2027-01-02", "date_range_too_long"),
        ("2026-13-01", "2026-12-01", "invalid_date"),
    ],
)
def test_a_bad_or_too_long_range_is_refused(env, start, end, code):
    store, _ = env
    with pytest.raises(InvalidInput) as refused:
        queries.merchant_daily_stats("m-1", start, end, store=store)
    assert refused.value.code == code


def test_the_migration_rebuilds_the_same_daily_rows_from_the_streams(env):
    store, bank = env
    first = buy(store, bank)["card_id"]
    spend(store, first, 30_000, when=T0 + timedelta(days=1))
    second = buy(store, bank)["card_id"]
    commands.refund_card(
        second, "c-1", rule=None, store=store, bank=bank, policy=POLICY, now=T0 + timedelta(days=3)
    )
    live = store.list_views(daily_stats.DAILY, "", 100)
    assert len(live) == 3
    with store.unit_of_work() as uow:
        for key, _ in live:
            uow.delete_view(daily_stats.DAILY, key)
        uow.delete_view(migrations.MIGRATIONS, migrations.CARD_VIEWS_V2)
    migrations.backfill_card_views(store)
    assert store.list_views(daily_stats.DAILY, "", 100) == live
