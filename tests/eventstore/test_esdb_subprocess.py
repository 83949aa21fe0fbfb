"""The child-process store (built for EventStoreDB), hosting SQLite in its child: both
conformance suites cross the process boundary, plus what only a child process can do (die,
hang, run under eventlet)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from eventstore import (
    AlreadyProcessed,
    ConcurrencyError,
    EventStoreError,
    NewEvent,
    StoreUnavailable,
    Tracking,
)
from eventstore.esdb_subprocess import (
    SubprocessEventLog,
    SubprocessEventStore,
    decode_error,
    encode_error,
)
from tests.eventstore.conformance import EventLogConformance, ViewStoreConformance
from tests.support.store_events import events

REPO = Path(__file__).resolve().parents[2]


def sqlite_spec(path) -> dict:
    return {"kind": "sqlite", "path": str(path), "pool_size": 10}


class TestSubprocessSqliteConformance(EventLogConformance, ViewStoreConformance):
    @pytest.fixture
    def store_location(self, tmp_path):
        return tmp_path / "events.db"

    def open_store(self, location, **kwargs):
        return SubprocessEventStore(sqlite_spec(location), **kwargs)


@pytest.fixture
def store(tmp_path):
    store = SubprocessEventStore(sqlite_spec(tmp_path / "e.db"), call_timeout=2.0)
    yield store
    store.close()


def wait_until_gone(pid: int) -> None:
    """Until the killed child is a zombie or reaped (SIGKILL is asynchronous)."""
    for _ in range(200):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split(") ", 1)[1].startswith("Z"):
                    return
        except FileNotFoundError:
            return
        time.sleep(0.01)
    raise AssertionError(f"child {pid} survived SIGKILL")


def test_killed_child_is_replaced_and_the_data_is_still_there(store):
    store.append("s", events(2), 0)
    first = store.child_pid
    os.kill(first, signal.SIGKILL)
    wait_until_gone(first)
    try:
        assert [e.version for e in store.read_stream("s")] == [1, 2]  # restarted transparently
    except StoreUnavailable:
        pass  # or noticed mid-call; then the next call restarts
    assert [e.version for e in store.read_stream("s")] == [1, 2]
    assert store.child_pid != first
    assert store.append("s", events(1), 2) == 3


def test_hung_child_misses_the_deadline_and_is_replaced(store):
    store.append("s", events(1), 0)
    first = store.child_pid
    os.kill(first, signal.SIGSTOP)  # the request is written, the answer never comes
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.read_stream("s")
        assert time.monotonic() - started < 2.0 + 2.0, "the call deadline was not kept"
    finally:
        try:
            os.kill(first, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert [e.version for e in store.read_stream("s")] == [1]
    assert store.child_pid != first


def test_errors_cross_with_their_type_and_fields(store):
    store.append("s", events(2), 0)
    with pytest.raises(ConcurrencyError) as info:
        store.append("s", events(1), 5)
    assert (info.value.stream, info.value.expected, info.value.actual) == ("s", 5, 2)
    store.append("t", events(1), 0, tracking=Tracking("c", "e1"))
    with store.unit_of_work() as uow:
        with pytest.raises(AlreadyProcessed) as processed:
            uow.track(Tracking("c", "e1"))
    assert (processed.value.consumer, processed.value.event_id) == ("c", "e1")
    assert isinstance(decode_error(encode_error(KeyError("x"))), EventStoreError)
    assert isinstance(decode_error(encode_error(TypeError("x"))), TypeError)


def test_view_read_inside_a_unit_of_work_is_rechecked_at_commit(store):
    with store.unit_of_work() as uow:
        uow.put_view("stats", "m1", {"n": 1})
    with pytest.raises(EventStoreError, match="changed"):
        with store.unit_of_work() as uow:
            doc = uow.get_view("stats", "m1")
            with store.unit_of_work() as racer:
                racer.put_view("stats", "m1", {"n": 5})
            uow.put_view("stats", "m1", {"n": doc["n"] + 1})
    assert store.get_view("stats", "m1") == {"n": 5}


def test_buffered_unit_of_work_copies_what_it_is_given(store):
    doc = {"issued": 100}
    with store.unit_of_work() as uow:
        uow.put_view("stats", "m1", doc)
        doc["issued"] = -1  # too late: SQL would have stored it already
    with store.unit_of_work() as uow:
        seen = uow.get_view("stats", "m1")
        seen["issued"] += 100  # mutating what was read is not a concurrent change
        uow.put_view("stats", "m1", seen)
    assert store.get_view("stats", "m1") == {"issued": 200}


def test_bad_spec_fails_in_the_parent(tmp_path):
    with pytest.raises(ValueError):
        SubprocessEventStore({"kind": "nope"})
    with pytest.raises(ValueError):
        SubprocessEventLog({"kind": "nope"})
    with pytest.raises(ValueError, match="keeps no views"):
        SubprocessEventStore({"kind": "esdb", "uri": "esdb://x", "namespace": "ns"})
    with pytest.raises(TypeError):
        SubprocessEventStore({"kind": "sqlite", "path": str(tmp_path / "x.db"), "bogus": 1})


def test_close_ends_the_child_and_refuses_further_calls(tmp_path):
    store = SubprocessEventStore(sqlite_spec(tmp_path / "e.db"))
    pid = store.child_pid
    store.close()
    assert not Path(f"/proc/{pid}").exists()
    with pytest.raises(EventStoreError):
        store.head_position()


EVENTLET_SCRIPT = textwrap.dedent("""
    import eventlet
    eventlet.monkey_patch()

    import os, signal, sys, time
    from eventstore import ConcurrencyError, NewEvent
    from eventstore.esdb_subprocess import SubprocessEventStore

    store = SubprocessEventStore({"kind": "sqlite", "path": sys.argv[1]}, call_timeout=20)

    def writer(i):
        version = 0
        for k in range(15):
            version = store.append(f"g{i}", [NewEvent("t.A.v1", {"k": k})], version)
        return version

    pool = eventlet.GreenPool()
    assert list(pool.imap(writer, range(8))) == [15] * 8
    assert len(list(store.iter_all(page=50))) == 120

    store.append("race", [NewEvent("t.A.v1", {})], 0)
    def contend(i):
        try:
            return store.append("race", [NewEvent("t.B.v1", {"i": i})], 1)
        except ConcurrencyError:
            return "lost"
    outcomes = list(pool.imap(contend, range(8)))
    assert outcomes.count(2) == 1 and outcomes.count("lost") == 7, outcomes

    # A call waiting on a stalled child must not block the hub: other greenthreads keep running.
    os.kill(store.child_pid, signal.SIGSTOP)
    waiting = eventlet.spawn(store.read_stream, "race")
    ticks = 0
    started = time.monotonic()
    while time.monotonic() - started < 0.5:
        eventlet.sleep(0.01)
        ticks += 1
    os.kill(store.child_pid, signal.SIGCONT)
    assert [e.version for e in waiting.wait()] == [1, 2]
    assert ticks > 20, ticks
    store.close()
    print("OK")
""")


def test_parent_works_under_eventlet_monkey_patching(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", EVENTLET_SCRIPT, str(tmp_path / "e.db")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("OK"), done.stdout


def test_new_events_keep_their_ids_across_the_pipe(store):
    event = NewEvent("t.A.v1", {"x": "名"}, {"m": 1})
    store.append("s", [event], 0)
    (got,) = store.read_stream("s")
    assert (got.id, got.data, got.metadata) == (event.id, {"x": "名"}, {"m": 1})


@pytest.mark.postgres
def test_child_can_host_postgres(pg_dsn):
    store = SubprocessEventStore({"kind": "postgres", "dsn": pg_dsn, "schema": "escrow"})
    try:
        store.append("s", events(2), 0, tracking=Tracking("c", "e1", 3))
        assert [e.version for e in store.read_stream("s")] == [1, 2]
        assert store.is_processed("c", "e1") and store.position("c") == 3
        assert store.read_all()[0].recorded_at.tzinfo is not None
    finally:
        store.close()
