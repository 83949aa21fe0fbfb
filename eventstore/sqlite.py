"""SQLite adapter: the embedded default, one WAL-mode file per service.

`BEGIN IMMEDIATE` takes SQLite's single write lock at the start of every write transaction,
which is the store-wide lock the append protocol in `eventstore.sql` relies on; it also
serialises writers in other processes (the relay saving its position) on the same file.

Writers in one process first queue on a Python lock. Under eventlet that lock is green: a
greenthread that yields inside a transaction (say, for an RPC) makes the others wait in the
hub, instead of spinning in SQLite's C busy handler, which would block the hub and with it
the transaction they are waiting for.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from eventstore.sql import SqlDialect, SqlEventStore, utc_now
from eventstore.upcasting import NO_UPCASTERS, UpcasterChain

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY,
    event_id    TEXT NOT NULL UNIQUE,
    stream      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    type        TEXT NOT NULL,
    data        TEXT NOT NULL,
    metadata    TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (stream, version)
);
CREATE TABLE IF NOT EXISTS tracking (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS positions (
    consumer TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS views (
    collection TEXT NOT NULL,
    key        TEXT NOT NULL,
    doc        TEXT NOT NULL,
    PRIMARY KEY (collection, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS parked_events (
    consumer  TEXT NOT NULL,
    position  INTEGER NOT NULL,
    event_id  TEXT NOT NULL,
    type      TEXT NOT NULL,
    error     TEXT NOT NULL,
    parked_at TEXT NOT NULL,
    PRIMARY KEY (consumer, position)
);
"""


class SqliteEventStore(SqlEventStore):
    dialect = SqlDialect()
    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        pool_size: int = 4,
        busy_timeout_ms: int = 30_000,
        upcasters: UpcasterChain = NO_UPCASTERS,
        clock=utc_now,
    ):
        super().__init__(upcasters=upcasters, clock=clock)
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = synchronous
        self._busy_timeout_ms = busy_timeout_ms
        self._pool: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._write_lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        for _ in range(pool_size):
            self._pool.put(self._connect())
        with self._connection() as conn:
            conn.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        self._all.append(conn)
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn = self._pool.get()
        try:
            yield conn
        finally:
            self._pool.put(conn)

    @contextmanager
    def _write_transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._write_lock, self._connection() as conn:
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                conn.rollback()
                raise
            else:
                conn.commit()
            finally:
                cursor.close()

    @contextmanager
    def _read_cursor(self) -> Iterator[sqlite3.Cursor]:
        with self._connection() as conn:
            cursor = conn.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    def encode_time(self, moment: datetime) -> str:
        return moment.isoformat()

    def decode_time(self, value: str) -> datetime:
        return datetime.fromisoformat(value)

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
