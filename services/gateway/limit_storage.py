"""Rate-limit counters in SQL, for Flask-Limiter's fixed-window strategy.

The `limits` library has no PostgreSQL storage, and the platform runs no Redis: this storage
keeps its counters in SQLite (one machine: every gateway process pointing at the same file
shares the counts) or PostgreSQL (every replica pointing at the same database shares them).
Importing this module registers the URI schemes with `limits`:

* `sqlite:///abs/path.db` or `sqlite:relative/path.db`;
* `postgresql://user@host:port/db?schema=gateway` (any libpq URI; `schema` is ours), with
  psycopg's pure-Python implementation as everywhere else (see eventstore/postgres.py). The
  table comes from the gateway's migrations (`python -m platformrun.migrate`).

Each hit is one atomic upsert: a new window starts when the stored one has ended, otherwise
the count grows, so concurrent hits from any number of processes are all counted.
"""

from __future__ import annotations

import time

from limits.storage import Storage

from services.gateway.state.db import PostgresDb, SqliteDb, StateDb

# Ended windows are deleted at most this often per process, this many rows at a time, so the
# table stays the size of the live windows and no request pays for a large delete.
CLEANUP_EVERY_SECONDS = 60
CLEANUP_BATCH = 1000

# SQLite creates the table when the file is opened; on PostgreSQL it comes from the gateway's
# migrations (platformrun/migrations/gateway/) and the gateway never creates it.
SQLITE_TABLES = """CREATE TABLE IF NOT EXISTS rate_limit_counters (
    key        TEXT PRIMARY KEY,
    hits       BIGINT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_limit_counters_expiry ON rate_limit_counters (expires_at);
"""
INCR = """INSERT INTO rate_limit_counters (key, hits, expires_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN rate_limit_counters.expires_at <= ? THEN excluded.hits
                ELSE rate_limit_counters.hits + excluded.hits END,
    expires_at = CASE WHEN rate_limit_counters.expires_at <= ? THEN excluded.expires_at
                      ELSE rate_limit_counters.expires_at END
RETURNING hits"""
LIVE = "SELECT hits, expires_at FROM rate_limit_counters WHERE key = ? AND expires_at > ?"
CLEANUP = (
    "DELETE FROM rate_limit_counters WHERE key IN (SELECT key FROM rate_limit_counters"
    " WHERE expires_at <= ? LIMIT ?)"
)


class SqlStorage(Storage):
    """A `limits` storage for the fixed-window strategy (Flask-Limiter's default)."""

    STORAGE_SCHEME = ["sqlite", "postgresql", "postgres"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        scheme = uri.split(":", 1)[0]
        self._db: StateDb
        if scheme == "sqlite":
            path = uri[len("sqlite:") :]
            self._db = SqliteDb(path[2:] if path.startswith("//") else path, SQLITE_TABLES)
        else:
            self._db = PostgresDb(uri)
        self._next_cleanup = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return self._db.errors

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        with self._db.cursor() as cursor:
            cursor.execute(INCR, (key, amount, now + expiry, now, now))
            hits = cursor.fetchone()[0]
            if now >= self._next_cleanup:
                self._next_cleanup = now + CLEANUP_EVERY_SECONDS
                cursor.execute(CLEANUP, (now, CLEANUP_BATCH))
        return int(hits)

    def _live(self, key: str) -> tuple[int, float] | None:
        with self._db.cursor() as cursor:
            cursor.execute(LIVE, (key, time.time()))
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
            cursor.execute("DELETE FROM rate_limit_counters WHERE key = ?", (key,))

    def close(self) -> None:
        self._db.close()
