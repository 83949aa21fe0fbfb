"""EventStoreDB adapter.

* With `ESDB_URI` set (e.g. esdb://127.0.0.1:2113?Tls=false): the conformance suite against the
  real server, directly and in a child process (how the relay runs it).
* Always: the mapping rules, deadlines against a silent and a closed port, the log suite
  against `FakeEsdbClient` (tests/support/fake_esdb.py), an in-memory stand-in for the
  esdbclient calls the adapter makes.
  The fake checks the adapter's protocol logic; it is not evidence about the server.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid

import pytest
from esdbclient import StreamState
from esdbclient.exceptions import WrongCurrentVersion

from eventstore import ConcurrencyError, NewEvent, StoreUnavailable, Tracking
from eventstore.esdb import (
    EsdbEventLog,
    actual_version,
    esdb_revision,
    esdb_stream,
    id_record_event_id,
    namespace_filter,
    port_stream,
)
from eventstore.esdb_subprocess import open_esdb_subprocess
from tests.eventstore.conformance import EventLogConformance
from tests.support.fake_esdb import FakeEsdbClient
from tests.support.store_events import events

ESDB_URI = os.environ.get("ESDB_URI")
SKIP_REASON = "ESDB_URI is not set: EventStoreDB conformance suite skipped"


def fresh_namespace() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


# --- the real server (only with ESDB_URI) ------------------------------------------------------
if not ESDB_URI:

    def test_esdb_conformance_suite():
        pytest.skip(SKIP_REASON)  # one line in the summary instead of one per suite test


@pytest.fixture
def esdb_uri():
    if not ESDB_URI:
        pytest.skip(SKIP_REASON)
    return ESDB_URI


class TestEsdbConformance(EventLogConformance):
    __test__ = ESDB_URI is not None  # the server-free tests below still run without it
    dense_positions = False

    @pytest.fixture
    def store_location(self, esdb_uri):
        return esdb_uri, fresh_namespace()

    def open_store(self, location, **kwargs):
        uri, namespace = location
        return EsdbEventLog(uri, namespace=namespace, **kwargs)


class TestEsdbSubprocessConformance(TestEsdbConformance):
    def open_store(self, location, **kwargs):
        uri, namespace = location
        return open_esdb_subprocess(uri, namespace, **kwargs)


class TestEsdbConformanceOnFakeServer(EventLogConformance):
    dense_positions = False

    @pytest.fixture
    def fake(self):
        return FakeEsdbClient()

    @pytest.fixture
    def store_location(self, fake):
        # A neighbour namespace writing alongside must never show up in this one's reads.
        neighbour = EsdbEventLog(
            "esdb://fake", namespace="neighbour", client_factory=lambda _: fake
        )
        neighbour.append("a", events(2), 0)
        return fake, fresh_namespace()

    def open_store(self, location, **kwargs):
        fake, namespace = location
        return EsdbEventLog(
            "esdb://fake", namespace=namespace, client_factory=lambda _: fake, **kwargs
        )


@pytest.fixture
def fake():
    return FakeEsdbClient()


@pytest.fixture
def fake_store(fake):
    return EsdbEventLog("esdb://fake", namespace="ns", timeout=5, client_factory=lambda _: fake)


# --- mapping rules --------------------------------------------------------------------------------
def test_versions_convert_between_port_and_esdb():
    assert esdb_revision(0) is StreamState.NO_STREAM
    assert esdb_revision(1) == 0 and esdb_revision(7) == 6
    assert actual_version(WrongCurrentVersion("Stream position of last event is 4 not 2")) == 5
    assert actual_version(WrongCurrentVersion("Stream 'ns-s' does not exist")) == 0
    assert actual_version(WrongCurrentVersion("something else")) is None


def test_namespace_prefix_and_filter():
    assert esdb_stream("escrow", "card-c1") == "escrow-card-c1"
    assert port_stream("escrow", "escrow-card-c1") == "card-c1"
    regex = re.compile("^" + namespace_filter("escrow") + "$")
    assert regex.match("escrow-card-c1")
    for other in (
        "escrow-$tracking-c-e1",
        "escrow-$position-relay",
        "$$escrow-x",
        "escrow2-x",
        "merchant-x",
        "$ce-escrow",
        "escrow-",
    ):
        assert not regex.match(other), other
    with pytest.raises(ValueError):
        EsdbEventLog("esdb://x", namespace="bad-name")
    with pytest.raises(ValueError):
        EsdbEventLog("esdb://x", namespace="ns").append("$all", events(1), 0)


def test_id_records_have_deterministic_ids():
    event_id = str(uuid.uuid4())
    first = id_record_event_id(event_id, "s", 3)
    assert first == id_record_event_id(event_id, "s", 3) and first.version == 5
    assert first != id_record_event_id(event_id, "s", 4)
    assert first != id_record_event_id(event_id, "t", 3)


def test_nothing_connects_before_the_first_call():
    made = []
    store = EsdbEventLog("esdb://x", namespace="ns", client_factory=lambda uri: made.append(uri))
    assert made == []
    store.close()


# --- deadlines ------------------------------------------------------------------------------------
@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers: only a deadline ends a call."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("port_kind", ["silent", "closed"])
def test_calls_carry_a_deadline(port_kind, request):
    port = request.getfixturevalue("silent_port") if port_kind == "silent" else free_port()
    store = EsdbEventLog(f"esdb://127.0.0.1:{port}?Tls=false", namespace="ns", timeout=1.0)
    try:
        for call in (
            lambda: store.read_stream("s"),
            lambda: store.append("s", events(1), 0),
            store.head_position,
            lambda: store.read_all(0),
        ):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                call()
            # esdbclient retries a failed RPC once, so up to about twice the deadline.
            assert time.monotonic() - started < 3.5
    finally:
        store.close()


def test_esdb_subprocess_reports_a_silent_server_as_unavailable_and_stays_up(silent_port):
    store = open_esdb_subprocess(f"esdb://127.0.0.1:{silent_port}?Tls=false", "ns", timeout=1.0)
    try:
        pid = store.child_pid
        for _ in range(2):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                store.read_all(0)
            assert time.monotonic() - started < 3.5
        assert store.child_pid == pid, "a server timeout must not cost the child"
    finally:
        store.close()


def test_every_rpc_of_the_fake_run_carried_a_deadline(fake, fake_store):
    fake_store.append("s", events(2), 0, tracking=Tracking("c", "e1", 4))
    fake_store.read_all()
    fake_store.is_processed("c", "e1")
    assert fake.timeouts and all(0 < t <= 5 for t in fake.timeouts)


# --- protocol details, on the fake ----------------------------------------------------------------
def test_repeat_of_the_same_append_is_a_concurrency_error_not_an_idempotent_success(fake_store):
    batch = events(2)
    fake_store.append("s", batch, 0)
    with pytest.raises(ConcurrencyError) as info:
        fake_store.append("s", batch, 0)
    assert info.value.actual == 2


def crash_after_first_intent(monkeypatch) -> list:
    """The first consumer dies right after writing its intent; returns that intent."""
    original = EsdbEventLog._resolve
    crashed: list[dict] = []

    def crash_once(self, deadline, intent):
        if not crashed:
            crashed.append(intent)
            raise RuntimeError("consumer died after writing its intent")
        return original(self, deadline, intent)

    monkeypatch.setattr(EsdbEventLog, "_resolve", crash_once)
    return crashed


def test_intent_left_by_a_crash_is_rolled_forward(fake_store, monkeypatch):
    crashed = crash_after_first_intent(monkeypatch)
    with pytest.raises(RuntimeError):
        fake_store.append("effects", events(1), 0, tracking=Tracking("c", "e1", 9))
    assert fake_store.read_stream("effects") == []
    assert fake_store.is_processed("c", "e1"), "finding the intent finishes the commit"
    assert [e.id for e in fake_store.read_stream("effects")] == [crashed[0]["events"][0]["id"]]


def test_intent_whose_slot_was_taken_is_aborted_and_the_event_can_be_retried(
    fake_store, monkeypatch
):
    crash_after_first_intent(monkeypatch)
    with pytest.raises(RuntimeError):
        fake_store.append("effects", events(1), 0, tracking=Tracking("c", "e1", 9))
    fake_store.append("effects", events(1, by="someone else"), 0)
    assert not fake_store.is_processed("c", "e1")
    assert fake_store.append("effects", events(1), 1, tracking=Tracking("c", "e1", 9)) == 2
    assert fake_store.is_processed("c", "e1") and fake_store.position("c") == 9
    assert [e.data.get("by") for e in fake_store.read_stream("effects")] == ["someone else", None]


def test_tracking_keys_that_differ_do_not_share_a_stream(fake_store):
    fake_store.append("x", events(1), 0, tracking=Tracking("a-b", "c"))
    assert fake_store.is_processed("a-b", "c")
    assert not fake_store.is_processed("a", "b-c")


def test_unit_of_work_refuses_a_second_stream(fake_store):
    with pytest.raises(NotImplementedError):
        with fake_store.unit_of_work() as uow:
            uow.append("a", events(1), 0)
            uow.append("b", events(1), 0)
    assert fake_store.read_all() == []
    with fake_store.unit_of_work() as uow:
        uow.append("a", events(1), 0)
        assert uow.append("a", events(2), 1) == 3
    assert [e.version for e in fake_store.read_stream("a")] == [1, 2, 3]


def test_events_keep_the_callers_ids_and_server_time(fake_store):
    event = NewEvent("t.A.v1", {"x": 1}, {"correlation_id": "c"})
    fake_store.append("s", [event], 0, tracking=Tracking("c", "e1"))
    (got,) = fake_store.read_stream("s")
    assert got.id == event.id and got.metadata == {"correlation_id": "c"}
    assert got.recorded_at.tzinfo is not None
