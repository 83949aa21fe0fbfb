"""Conformance suites for the event-store ports (eventstore.port).

`EventLogConformance` runs against every adapter; `ViewStoreConformance` against those that
keep views beside their events (SQLite, PostgreSQL). A backend's test class subclasses the
suites its adapter supports: its `store_location` fixture names fresh, empty storage, and
`open_store` opens a store over it (twice, for tests such as upcasting that need a second
instance over the same data).
"""

from __future__ import annotations

import os
import threading
import uuid
from datetime import datetime

import pytest

from eventstore import (
    AlreadyProcessed,
    ConcurrencyError,
    EventStoreError,
    NewEvent,
    Tracking,
    UpcasterChain,
)
from tests.support.store_events import events, run_together

RACE_ROUNDS = int(os.environ.get("RACE_ROUNDS", "200"))
RACE_THREADS = 8


class StoreUnderTest:
    """Subclasses give a `store_location` fixture and `open_store(location, **kwargs)`."""

    def open_store(self, location, **kwargs):
        raise NotImplementedError

    @pytest.fixture
    def store_factory(self, store_location):
        opened = []

        def factory(**kwargs):
            store = self.open_store(store_location, **kwargs)
            opened.append(store)
            return store

        yield factory
        for store in opened:
            store.close()

    @pytest.fixture
    def store(self, store_factory):
        return store_factory()


class EventLogConformance(StoreUnderTest):
    """What every adapter guarantees (eventstore.port.EventLog)."""

    dense_positions = True
    """SQL stores number events 1, 2, 3...; EventStoreDB commit positions only increase."""

    # --- append and read ---------------------------------------------------------------
    def test_append_then_read_stream_round_trips_every_field(self, store):
        first = NewEvent(
            type="escrow.CardPurchased.v1",
            data={"card_id": "c1", "amount": 10_000, "nested": {"k": ["a", 1]}, "名": "卡"},
            metadata={"correlation_id": "corr-1", "causation_id": "cause-1"},
        )
        second = NewEvent(type="escrow.CardActivated.v1", data={"card_id": "c1"})
        assert store.append("card-c1", [first, second], expected_version=0) == 2

        got = store.read_stream("card-c1")
        assert [e.id for e in got] == [first.id, second.id]
        assert [e.version for e in got] == [1, 2]
        assert got[0].type == "escrow.CardPurchased.v1"
        assert got[0].data == first.data
        assert got[0].metadata == first.metadata
        assert got[0].stream == "card-c1"
        assert isinstance(got[0].recorded_at, datetime) and got[0].recorded_at.tzinfo
        assert got[0].position < got[1].position

    def test_read_stream_from_version_and_unknown_stream(self, store):
        store.append("s", events(5), 0)
        assert [e.version for e in store.read_stream("s", from_version=4)] == [4, 5]
        assert store.read_stream("nobody") == []

    def test_wrong_expected_version_raises_and_writes_nothing(self, store):
        store.append("s", events(2), 0)
        for wrong in (0, 1, 3):
            with pytest.raises(ConcurrencyError) as info:
                store.append("s", events(1, marker="bad"), expected_version=wrong)
            assert info.value.actual == 2 and info.value.expected == wrong
        assert [e.version for e in store.read_stream("s")] == [1, 2]
        assert store.append("s", events(1), expected_version=2) == 3

    @pytest.mark.parametrize("bad", [-1, None, "any", 1.0])
    def test_there_is_no_any_version(self, store, bad):
        with pytest.raises((ValueError, TypeError)):
            store.append("s", events(1), expected_version=bad)
        assert store.read_stream("s") == []

    def test_empty_append_is_refused(self, store):
        with pytest.raises(ValueError):
            store.append("s", [], expected_version=0)

    def test_duplicate_event_id_fails_whole_batch(self, store):
        first = NewEvent(type="t.A.v1", data={})
        store.append("a", [first], 0)
        with pytest.raises(EventStoreError):
            store.append("b", [NewEvent(type="t.B.v1", data={}), first], 0)
        assert store.read_stream("b") == []
        assert len(store.read_all()) == 1

    # --- global order --------------------------------------------------------------------
    def test_read_all_is_global_order_with_paging(self, store):
        store.append("a", events(3), 0)
        store.append("b", events(2), 0)
        store.append("a", events(1), 3)
        everything = store.read_all(0, limit=100)
        assert [(e.stream, e.version) for e in everything] == [
            ("a", 1),
            ("a", 2),
            ("a", 3),
            ("b", 1),
            ("b", 2),
            ("a", 4),
        ]
        positions = [e.position for e in everything]
        assert positions == sorted(positions) and len(set(positions)) == 6
        if self.dense_positions:
            assert positions == list(range(1, 7))
        assert store.head_position() == positions[-1]
        page = store.read_all(positions[1], limit=2)
        assert [e.position for e in page] == positions[2:4]
        assert [e.id for e in store.iter_all(0, page=4)] == [e.id for e in everything]
        assert store.read_all(positions[-1]) == []

    def test_empty_store(self, store):
        assert store.read_all() == []
        assert store.head_position() == 0

    def test_concurrent_writers_on_many_streams_lose_nothing(self, store):
        per_writer = 25

        def writer(i: int) -> int:
            version = 0
            for _ in range(per_writer):
                version = store.append(f"w{i}", events(1, writer=i), version)
            return version

        assert run_together(6, writer) == [per_writer] * 6
        everything = list(store.iter_all())
        assert len(everything) == 6 * per_writer
        positions = [e.position for e in everything]
        assert positions == sorted(set(positions))
        if self.dense_positions:
            assert positions == list(range(1, len(positions) + 1))

    def test_reader_paging_by_position_never_skips_a_late_commit(self, store):
        total_writers, per_writer = 4, 40
        done = threading.Event()
        seen: list[int] = []

        def follow() -> None:
            after = 0
            while True:
                finished = done.is_set()
                batch = store.read_all(after, limit=7)
                for event in batch:
                    seen.append(event.position)
                    after = event.position
                if finished and not batch:
                    return

        reader = threading.Thread(target=follow)
        reader.start()
        run_together(
            total_writers,
            lambda i: [store.append(f"r{i}-{k}", events(1), 0) for k in range(per_writer)],
        )
        done.set()
        reader.join(timeout=120)
        assert not reader.is_alive()
        assert len(seen) == total_writers * per_writer
        assert seen == sorted(set(seen)), "a page was out of order or repeated"
        assert seen == [e.position for e in store.iter_all()]

    # --- the race: exactly one wins -------------------------------------------------------
    def test_concurrent_append_at_same_version_exactly_one_wins(self, store):
        for round_no in range(RACE_ROUNDS):
            stream = f"race-{round_no}"
            store.append(stream, events(1), 0)
            results = run_together(
                RACE_THREADS,
                lambda i, s=stream: store.append(s, events(1, contender=i), expected_version=1),
            )
            winners = [r for r in results if r == 2]
            losers = [r for r in results if isinstance(r, ConcurrencyError)]
            assert len(winners) == 1, f"round {round_no}: {results}"
            assert len(losers) == RACE_THREADS - 1, f"round {round_no}: {results}"
            recorded = store.read_stream(stream)
            assert [e.version for e in recorded] == [1, 2]

    # --- tracking -------------------------------------------------------------------------
    def test_tracking_is_written_with_the_effect(self, store):
        source_id = str(uuid.uuid4())
        tracking = Tracking("ledger", source_id, position=7)
        store.append("effects", events(1), 0, tracking=tracking)
        assert store.is_processed("ledger", source_id)
        assert not store.is_processed("risk", source_id)
        assert store.position("ledger") == 7

        with pytest.raises(AlreadyProcessed):
            store.append("effects", events(1), 1, tracking=tracking)
        assert len(store.read_stream("effects")) == 1

    def test_failed_effect_leaves_no_tracking(self, store):
        source_id = str(uuid.uuid4())
        store.append("effects", events(1), 0)
        with pytest.raises(ConcurrencyError):
            store.append("effects", events(1), 0, tracking=Tracking("c", source_id, 3))
        assert not store.is_processed("c", source_id)
        assert store.position("c") == 0

    def test_unit_of_work_rolls_back_everything_on_error(self, store):
        source_id = str(uuid.uuid4())
        with pytest.raises(RuntimeError):
            with store.unit_of_work() as uow:
                uow.track(Tracking("c", source_id, 5))
                uow.append("x", events(2), 0)
                raise RuntimeError("consumer crashed before commit")
        assert not store.is_processed("c", source_id)
        assert store.read_stream("x") == []
        assert store.position("c") == 0
        store.append("x", events(1), 0, tracking=Tracking("c", source_id, 5))
        assert store.is_processed("c", source_id)

    def test_concurrent_consumers_of_one_event_exactly_one_records(self, store):
        source_id = str(uuid.uuid4())
        results = run_together(
            RACE_THREADS,
            lambda i: store.append(f"eff-{i}", events(1), 0, tracking=Tracking("c", source_id)),
        )
        assert sum(1 for r in results if r == 1) == 1, results
        assert sum(1 for r in results if isinstance(r, AlreadyProcessed)) == RACE_THREADS - 1
        assert len(store.read_all()) == 1

    def test_saved_position_never_moves_back(self, store):
        assert store.position("relay") == 0
        store.save_position("relay", 10)
        store.save_position("relay", 4)
        assert store.position("relay") == 10
        store.save_position("relay", 11)
        assert store.position("relay") == 11

    # --- upcasting --------------------------------------------------------------------------
    def test_upcasters_upgrade_old_events_on_read(self, store_factory):
        chain = UpcasterChain()

        @chain.register("shop.Paid.v1", "shop.Paid.v2")
        def _v1_to_v2(data):
            data["amount"] = data.pop("yuan") * 100
            return data

        @chain.register("shop.Paid.v2", "shop.Paid.v3")
        def _v2_to_v3(data):
            data.setdefault("currency", "CNY")
            return data

        plain = store_factory()
        plain.append(
            "p",
            [
                NewEvent("shop.Paid.v1", {"yuan": 12}),
                NewEvent("shop.Paid.v3", {"amount": 5, "currency": "CNY"}),
            ],
            0,
        )
        upgraded = store_factory(upcasters=chain)
        got = upgraded.read_stream("p")
        assert [(e.type, e.data) for e in got] == [
            ("shop.Paid.v3", {"amount": 1200, "currency": "CNY"}),
            ("shop.Paid.v3", {"amount": 5, "currency": "CNY"}),
        ]
        assert upgraded.read_all()[0].type == "shop.Paid.v3"
        assert plain.read_stream("p")[0].data == {"yuan": 12}, "stored bytes are never rewritten"


class ViewStoreConformance(StoreUnderTest):
    """What an adapter that keeps views guarantees (eventstore.port.ViewStore), and that it
    commits them in one transaction with appends and tracking (eventstore.port.EventStore)."""

    def test_views_commit_and_roll_back_with_tracking(self, store):
        with store.unit_of_work() as uow:
            uow.track(Tracking("stats", "e1"))
            uow.put_view("stats", "m1", {"issued": 100})
        with pytest.raises(AlreadyProcessed):
            with store.unit_of_work() as uow:
                uow.put_view("stats", "m1", {"issued": 200})
                uow.track(Tracking("stats", "e1"))
        assert store.get_view("stats", "m1") == {"issued": 100}
        assert store.get_view("stats", "nope") is None
        with store.unit_of_work() as uow:
            for key in ("m3", "m2", "a9"):
                uow.put_view("stats", key, {"k": key})
            uow.put_view("other", "m0", {})
        assert [k for k, _ in store.list_views("stats")] == ["a9", "m1", "m2", "m3"]
        assert store.list_views("stats", after_key="m1", limit=1) == [("m2", {"k": "m2"})]
        with store.unit_of_work() as uow:
            uow.delete_view("stats", "m2")
            assert uow.get_view("stats", "m2") is None
        assert [k for k, _ in store.list_views("stats")] == ["a9", "m1", "m3"]

    def test_get_views_reads_the_keys_that_exist_at_once(self, store):
        with store.unit_of_work() as uow:
            for key in ("k1", "k2", "k3"):
                uow.put_view("many", key, {"k": key})
            uow.put_view("elsewhere", "k1", {"k": "no"})
        assert store.get_views("many", ["k3", "nope", "k1", "k3"]) == {
            "k3": {"k": "k3"},
            "k1": {"k": "k1"},
        }
        assert store.get_views("many", []) == {}
        keys = [f"x{i:04d}" for i in range(1203)]  # more than one query's worth
        with store.unit_of_work() as uow:
            for key in keys:
                uow.put_view("many", key, {"k": key})
        assert store.get_views("many", keys[::-1]) == {key: {"k": key} for key in keys}

    def test_a_unit_of_work_reads_its_own_view_writes(self, store):
        with store.unit_of_work() as uow:
            uow.put_view("caps", "u1", {"bought": 1})
            assert uow.get_view("caps", "u1") == {"bought": 1}
            uow.delete_view("caps", "u1")
            assert uow.get_view("caps", "u1") is None
        assert store.get_view("caps", "u1") is None

    def test_a_units_last_write_to_a_key_commits_as_the_doc_was_then(self, store):
        with store.unit_of_work() as uow:
            uow.put_view("days", "d1", {"n": 0})
            uow.put_view("days", "gone", {"n": 0})
        with store.unit_of_work() as uow:
            doc = {"n": 1}
            uow.put_view("days", "d1", doc)
            doc["n"] = 99  # changed after the write: not what was written
            assert uow.get_view("days", "d1") == {"n": 1}
            for n in range(2, 40):
                uow.put_view("days", "d1", {"n": n})
            uow.delete_view("days", "gone")
            uow.put_view("days", "new", {"n": 7})
            uow.delete_view("days", "new")
            assert store.get_view("days", "d1") == {"n": 0}  # not committed yet
        assert store.get_views("days", ["d1", "gone", "new"]) == {"d1": {"n": 39}}

    def test_views_read_ahead_give_way_to_the_units_writes(self, store):
        with store.unit_of_work() as uow:
            uow.put_view("figures", "m1", {"n": 1})
            uow.put_view("figures", "m2", {"n": 2})
        with store.unit_of_work() as uow:
            uow.prefetch_views("figures", ["m1", "m2", "m3"])
            assert uow.get_view("figures", "m1") == {"n": 1}
            assert uow.get_view("figures", "m3") is None
            uow.put_view("figures", "m1", {"n": 10})
            uow.delete_view("figures", "m2")
            uow.put_view("figures", "m3", {"n": 3})
            assert [uow.get_view("figures", k) for k in ("m1", "m2", "m3")] == [
                {"n": 10},
                None,
                {"n": 3},
            ]
        assert store.get_views("figures", ["m1", "m2", "m3"]) == {"m1": {"n": 10}, "m3": {"n": 3}}

    def test_views_roll_back_with_a_failed_append(self, store):
        store.append("card-1", events(1), 0)
        with pytest.raises(ConcurrencyError):
            with store.unit_of_work() as uow:
                uow.put_view("caps", "u1", {"bought": 1})
                uow.append("card-1", events(1), 0)
        assert store.get_view("caps", "u1") is None
        with store.unit_of_work() as uow:
            uow.append("card-1", events(1), 1)
            uow.put_view("caps", "u1", {"bought": 1})
        assert store.get_view("caps", "u1") == {"bought": 1}
        assert len(store.read_stream("card-1")) == 2

    def test_one_unit_of_work_appends_to_two_streams_and_writes_a_view(self, store):
        """The merchant service claims a USCC in its own stream with the merchant's events."""
        with store.unit_of_work() as uow:
            uow.append("merchant-m1", events(1), 0)
            uow.append("uscc-91350100", events(1), 0)
            uow.put_view("directory", "m1", {"name": "m1"})
        assert [e.stream for e in store.read_all()] == ["merchant-m1", "uscc-91350100"]

    def test_views_list_in_byte_order_of_their_keys(self, store):
        keys = ["m-10/2026|a", "m-1/2026|b", "m-1|z", "M-2", "m-1/2026|a"]
        with store.unit_of_work() as uow:
            for key in keys:
                uow.put_view("paged", key, {"key": key})
        listed = [key for key, _ in store.list_views("paged")]
        assert listed == sorted(keys, key=str.encode)
        assert [k for k, _ in store.list_views("paged", after_key="m-1/2026|b")] == sorted(
            keys, key=str.encode
        )[3:]
