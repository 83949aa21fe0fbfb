"""SQLite adapter against raw sqlite3, side by side, at the same durability (WAL, FULL sync)."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from eventstore import NewEvent
from eventstore.sqlite import SqliteEventStore

PAYLOAD = {
    "card_id": "card-0001",
    "merchant_id": "m-42",
    "amount": 12_345,
    "uses": 1,
    "currency": "CNY",
    "note": "x" * 80,
}


def _raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(
        "CREATE TABLE events (position INTEGER PRIMARY KEY, event_id TEXT UNIQUE, stream TEXT,"
        " version INTEGER, type TEXT, data TEXT, metadata TEXT, recorded_at TEXT,"
        " UNIQUE (stream, version))"
    )
    return conn


def raw_inserts(path: Path, count: int, batch: int) -> float:
    """The floor: the same rows, indexes and bytes, written with plain sqlite3."""
    conn = _raw_connection(path)
    data = json.dumps(PAYLOAD, separators=(",", ":"), sort_keys=True)
    started = time.perf_counter()
    position = 0
    for start in range(0, count, batch):
        conn.execute("BEGIN IMMEDIATE")
        rows = []
        for offset in range(batch):
            position += 1
            rows.append(
                (
                    position,
                    str(uuid.uuid4()),
                    f"card-{start}",
                    offset + 1,
                    "escrow.Bench.v1",
                    data,
                    "{}",
                    "2026-01-01T00:00:00+00:00",
                )
            )
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


def adapter_appends(path: Path, count: int, batch: int) -> float:
    store = SqliteEventStore(path)
    started = time.perf_counter()
    for start in range(0, count, batch):
        store.append(
            f"card-{start}",
            [NewEvent("escrow.Bench.v1", PAYLOAD) for _ in range(batch)],
            expected_version=0,
        )
    elapsed = time.perf_counter() - started
    store.close()
    return count / elapsed


def replay(path: Path, count: int) -> float:
    store = SqliteEventStore(path)
    if store.head_position() < count:
        for start in range(store.head_position(), count, 500):
            store.append(
                f"replay-{start}", [NewEvent("escrow.Bench.v1", PAYLOAD) for _ in range(500)], 0
            )
    started = time.perf_counter()
    seen = sum(1 for _ in store.iter_all(0, page=1000))
    elapsed = time.perf_counter() - started
    store.close()
    assert seen >= count
    return seen / elapsed


def run(report) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-es-") as tmp_name:
        tmp = Path(tmp_name)
        for batch, count in ((1, 3000), (100, 100_000)):
            raw = raw_inserts(tmp / f"raw-{batch}.db", count, batch)
            ours = adapter_appends(tmp / f"ours-{batch}.db", count, batch)
            report(
                f"sqlite appends, {batch} event(s)/transaction",
                ours,
                raw,
                "events/s",
                target=0.5,
                baseline="raw sqlite3 inserts, same bytes, WAL+FULL",
            )
        rate = replay(tmp / "replay.db", 200_000)
        report("read_all replay (200k events)", rate, None, "events/s", absolute_target=50_000)
