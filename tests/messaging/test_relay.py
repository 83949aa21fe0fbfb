"""The outbox relay against a real RabbitMQ node and a real nameko consumer process."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from eventstore import NewEvent
from eventstore.sqlite import SqliteEventStore
from messaging.relay import FAULT_ENV
from messaging.topology import subscriptions_of
from tests.support.harness import start_nameko, start_relay, stop, wait_until
from tests.support.sample_service import Recorder

pytestmark = pytest.mark.broker

BINDINGS = subscriptions_of(Recorder)


def sell(store: SqliteEventStore, count: int, *, start: int = 0, **extra) -> list[str]:
    ids = []
    for i in range(start, start + count):
        event = NewEvent("shop.Sold.v1", {"amount": 100 + i, **extra}, {"correlation_id": f"c{i}"})
        store.append(f"sale-{i}", [event], 0)
        ids.append(event.id)
    return ids


class Platform:
    """A source store ("shop"), its relay, and the recorder service consuming from it."""

    def __init__(self, workdir: Path, amqp_uri: str):
        self.workdir = workdir
        self.amqp_uri = amqp_uri
        self.source_url = f"sqlite:///{workdir / 'shop.db'}"
        self.source = SqliteEventStore(workdir / "shop.db")
        self.recorder_db = workdir / "recorder.db"
        self.delivery_log = workdir / "deliveries.log"
        self.processes: list[subprocess.Popen] = []

    def start_recorder(self):
        self.recorder = start_nameko(
            "tests.support.sample_service",
            {
                "AMQP_URI": self.amqp_uri,
                "STORE_URL": f"sqlite:///{self.recorder_db}",
                "DELIVERY_LOG": str(self.delivery_log),
            },
            self.workdir,
        )
        self.processes.append(self.recorder)

    def restart_recorder_if_it_died(self) -> bool:
        """What make run's launcher (or Kubernetes) does: nameko kills its container when
        the broker drops a connection at a bad moment, and the process exits."""
        if self.recorder.poll() is None:
            return False
        self.start_recorder()
        return True

    def start_relay(self, *args, **env):
        process = start_relay(
            "shop",
            self.source_url,
            self.amqp_uri,
            self.workdir,
            bindings=BINDINGS,
            extra_env=env,
            extra_args=args,
        )
        self.processes.append(process)
        return process

    def recorded(self) -> dict[str, dict]:
        if not self.recorder_db.exists():
            return {}
        import json

        with sqlite3.connect(self.recorder_db) as conn:
            try:
                rows = conn.execute("SELECT key, doc FROM views WHERE collection = 'sold'")
                return {key: json.loads(doc) for key, doc in rows}
            except sqlite3.OperationalError:
                return {}

    def deliveries(self) -> list[str]:
        if not self.delivery_log.exists():
            return []
        return [line.strip() for line in self.delivery_log.read_text().splitlines() if line]

    def consumer_log(self) -> str:
        return (self.workdir / "sample_service.log").read_text()

    def wait_for(self, ids, timeout=60.0):
        wanted = set(ids)
        return wait_until(
            lambda: wanted <= set(self.recorded()) and self.recorded(),
            timeout,
            what=f"{len(wanted)} events recorded",
        )

    def close(self):
        for process in self.processes:
            stop(process)
        self.source.close()


@pytest.fixture
def platform(tmp_path, amqp_uri):
    p = Platform(tmp_path, amqp_uri)
    yield p
    p.close()


def test_every_event_reaches_a_real_nameko_handler_once(platform):
    ids = sell(platform.source, 300)
    # The relay starts first: it declares the handler's durable queue, so nothing published
    # before the consumer exists is lost.
    platform.start_relay()
    wait_until(
        lambda: platform.source.position("relay:shop") == platform.source.head_position(),
        what="relay to confirm everything",
    )
    platform.start_recorder()
    recorded = platform.wait_for(ids)
    assert set(recorded) == set(ids)
    by_position = {e.id: e.position for e in platform.source.read_all(0, 1000)}
    for event_id, doc in recorded.items():
        assert doc["applied"] == 1
        assert doc["source"] == "shop"
        assert doc["position"] == by_position[event_id]
    assert sorted(d["amount"] for d in recorded.values()) == list(range(100, 400))

    later = sell(platform.source, 50, start=300)
    platform.wait_for(later)


def test_relay_killed_between_confirm_and_save_loses_nothing_and_consumer_dedupes(platform):
    ids = sell(platform.source, 600)
    platform.start_recorder()
    # A window of 50 makes the relay save its position a dozen times over 600 events, so the
    # second save, where the fault strikes, always comes (one window could be one save).
    crashed = platform.start_relay(
        "--batch-size", "50", "--max-in-flight", "50", **{FAULT_ENV: "2"}
    )
    crashed.wait(timeout=60)
    assert crashed.returncode == -9, "the relay was to die by SIGKILL before saving"
    saved = platform.source.position("relay:shop")
    assert saved < platform.source.head_position()

    platform.start_relay()
    recorded = platform.wait_for(ids)
    assert len(recorded) == 600
    assert all(doc["applied"] == 1 for doc in recorded.values())
    assert set(platform.deliveries()) == set(ids)
    assert len(platform.deliveries()) == 600, "each event reached the handler body once"
    duplicates = platform.consumer_log().count("already processed; acking duplicate")
    assert duplicates >= 1, "confirmed-but-unsaved events must have been published again"


def test_a_handler_that_raises_gets_the_event_again(platform):
    ok = sell(platform.source, 5)
    flaky = sell(platform.source, 1, start=5, fail_times=2)[0]
    platform.start_recorder()
    platform.start_relay()
    recorded = platform.wait_for(ok + [flaky])
    assert recorded[flaky]["applied"] == 1
    assert platform.deliveries().count(flaky) == 3


@pytest.mark.slow
def test_broker_restart_while_relay_runs_loses_nothing(tmp_path, own_rabbit):
    platform = Platform(tmp_path, own_rabbit.amqp_uri)
    try:
        platform.start_recorder()
        platform.start_relay()
        first = sell(platform.source, 100)
        platform.wait_for(first)

        written: list[str] = []
        stop_writing = threading.Event()

        def keep_selling():
            n = 100
            while not stop_writing.is_set():
                written.extend(sell(platform.source, 5, start=n))
                n += 5
                stop_writing.wait(0.02)

        writer = threading.Thread(target=keep_selling)
        writer.start()
        wait_until(lambda: len(written) > 50, what="sales before the outage")
        own_rabbit.stop_app()
        wait_until(lambda: len(written) > 200, what="sales during the outage")
        own_rabbit.start_app()
        wait_until(lambda: len(written) > 400, what="sales after the outage")
        stop_writing.set()
        writer.join()

        everything = set(first + written)
        recorded = wait_until(
            lambda: (
                (platform.restart_recorder_if_it_died() or True)
                and everything <= set(platform.recorded())
                and platform.recorded()
            ),
            timeout=120,
            interval=0.5,
            what="every event recorded",
        )
        assert len(recorded) == len(first) + len(written)
        assert all(doc["applied"] == 1 for doc in recorded.values())
    finally:
        platform.close()
