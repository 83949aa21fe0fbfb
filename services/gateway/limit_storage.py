"""Rate-limit counters in SQL, for Flask-Limiter's fixed-window strategy.

The `limits` library has no PostgreSQL storage, and the platform runs no Redis: this storage
keeps its counters in SQLite (one machine: every gateway process pointing at the same file
shares the counts) or PostgreSQL (every replica pointing at the same database shares them).
Importing this module registers the URI schemes with `limits`:

* `sqlite:///abs/path.db` or `sqlite:relative/path.db`;
* `postgresql://user@host:port/db?schema=gateway` (any libpq URI; `schema` is ours), with
  psycopg's pure-Python implementation as everywhere else (see eventstore/postgres.py).

Each hit is one atomic upsert: a new window starts when the stored one has ended, otherwise
the count grows, so concurrent hits from any number of processes are all counted.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from limits.storage import Storage

from services.gateway.private_file import ensure_private_file

# Ended windows are deleted at most this often per process, this many rows at a time, so the
# table stays the size of the live windows and no request pays for a large delete.
CLEANUP_EVERY_SECONDS = 60
CLEANUP_BATCH = 1000
SCHEMA_LOCK_KEY = 0x6C696D74  # "limt": replicas creating the table at once wait for each other

TABLE = """CREATE TABLE IF NOT EXISTS rate_limit_counters (
    key        TEXT PRIMARY KEY,
    hits       BIGINT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
)"""
INDEX = "CREATE INDEX IF NOT EXISTS rate_limit_counters_expiry ON rate_limit_counters (expires_at)"
INCR = """INSERT INTO rate_limit_counters (key, hits, expires_at) VALUES ({p}, {p}, {p})
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN rate_limit_counters.expires_at <= {p} THEN excluded.hits
                ELSE rate_limit_counters.hits + excluded.hits END,
    expires_at = CASE WHEN rate_limit_counters.expires_at <= {p} THEN excluded.expires_at
                      ELSE rate_limit_counters.expires_at END
RETURNING hits"""
LIVE = "SELECT hits, expires_at FROM rate_limit_counters WHERE key = {p} AND expires_at > {p}"
CLEANUP = (
    "DELETE FROM rate_limit_counters WHERE key IN (SELECT key FROM rate_limit_counters"
    " WHERE expires_at <= {p} LIMIT {p})"
)


class _Sqlite:
    placeholder = "?"
    errors = (sqlite3.Error,)

    def __init__(self, path: str):
        ensure_private_file(path)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA busy_timeout = 10000")
        self._conn.execute(TABLE)
        self._conn.execute(INDEX)
        self._lock = threading.Lock()

    @contextmanager
    def cursor(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            yield self._conn.cursor()

    def close(self) -> None:
        self._conn.close()


class _Postgres:
    placeholder = "%s"

    def __init__(self, url: str):
        import psycopg

        self._psycopg = psycopg
        self.errors = (psycopg.Error,)
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        schema = query.pop("schema", None)
        self._dsn = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))
        # Extra connection parameters for psycopg.connect (a libpq `options` string).
        self._options: dict[str, Any] = {"options": f"-c search_path={schema}"} if schema else {}
        self._idle: queue.LifoQueue = queue.LifoQueue()
        with psycopg.connect(self._dsn, autocommit=True) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            if schema:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                conn.execute(f'SET LOCAL search_path TO "{schema}"')
            conn.execute(TABLE)
            conn.execute(INDEX)

    @contextmanager
    def cursor(self) -> Iterator:
        """A connection per concurrent request, kept for the next one."""
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._psycopg.connect(self._dsn, autocommit=True, **self._options)
        try:
            with conn.cursor() as cursor:
                yield cursor
        except self._psycopg.OperationalError:
            conn.close()  # a broken connection is not put back
            raise
        finally:
            if not conn.closed:
                self._idle.put(conn)

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().close()


class SqlStorage(Storage):
    """A `limits` storage for the fixed-window strategy (Flask-Limiter's default)."""

    STORAGE_SCHEME = ["sqlite", "postgresql", "postgres"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        scheme = uri.split(":", 1)[0]
        self._db: _Sqlite | _Postgres
        if scheme == "sqlite":
            path = uri[len("sqlite:") :]
            self._db = _Sqlite(path[2:] if path.startswith("//") else path)
        else:
            self._db = _Postgres(uri)
        self._p = self._db.placeholder
        self._next_cleanup = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return self._db.errors

    def _sql(self, statement: str) -> str:
        return statement.format(p=self._p)

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        with self._db.cursor() as cursor:
            cursor.execute(self._sql(INCR), (key, amount, now + expiry, now, now))
            hits = cursor.fetchone()[0]
            if now >= self._next_cleanup:
                self._next_cleanup = now + CLEANUP_EVERY_SECONDS
                cursor.execute(self._sql(CLEANUP), (now, CLEANUP_BATCH))
        return int(hits)

    def _live(self, key: str) -> tuple[int, float] | None:
        with self._db.cursor() as cursor:
            cursor.execute(self._sql(LIVE), (key, time.time()))
            return cursor.fetchone()

    def get(self, key: str) -> int:
        row = self._live(key)
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._live(key)
        return float(row[1]) if row else time.time()

    def check(self) -> bool:
        try:
            with self._db.cursor() as cursor:
                cursor.execute("SELECT 1")
                return cursor.fetchone()[0] == 1
        except self._db.errors:
            return False

    def reset(self) -> int | None:
        with self._db.cursor() as cursor:
            cursor.execute("DELETE FROM rate_limit_counters")
            return cursor.rowcount

    def clear(self, key: str) -> None:
        with self._db.cursor() as cursor:
            cursor.execute(self._sql("DELETE FROM rate_limit_counters WHERE key = {p}"), (key,))

    def close(self) -> None:
        self._db.close()
