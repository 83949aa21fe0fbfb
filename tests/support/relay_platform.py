"""A source store ("shop"), its relay and the sample recorder service consuming from it, for
the relay's and the consumers' tests against a real RabbitMQ node."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from eventstore import NewEvent
from eventstore.sqlite import SqliteEventStore
from messaging.topology import subscriptions_of
from tests.support.harness import start_nameko, start_relay, stop, wait_until
from tests.support.sample_service import Recorder

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
