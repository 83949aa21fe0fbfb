"""Idempotency-Key records in SQL (the port: state/ports.py, the HTTP side: idempotency.py).

Records are kept `ttl` seconds; a `begin` deletes a bounded batch of expired ones (by the
`created` index) at most every `cleanup_every` seconds per process, and a record found expired
under the key is dropped on the spot, so expiry holds on read whatever the backlog. On
PostgreSQL the batch skips rows another replica's sweep has locked (`FOR UPDATE SKIP LOCKED`),
so replicas sweeping at once do not queue behind each other."""

from __future__ import annotations

import threading
import time

from services.gateway.state.db import StateDb
from services.gateway.state.ports import IN_PROGRESS, StoredResponse

SQLITE_TABLES = """
CREATE TABLE IF NOT EXISTS responses (scope TEXT, key TEXT, fingerprint TEXT,
    status INTEGER, body BLOB, created REAL, PRIMARY KEY (scope, key));
CREATE INDEX IF NOT EXISTS responses_created ON responses (created);
"""
# Expired records are deleted this many at a time, at most this often per process (by the
# next write), so no request pays for a backlog and the table shrinks back to a day's worth.
CLEANUP_EVERY_SECONDS = 10.0
CLEANUP_BATCH = 1000
CLEANUP = (
    "DELETE FROM responses WHERE (scope, key) IN (SELECT scope, key FROM responses"
    " WHERE created <= ? LIMIT ?{lock})"
)


class SqlIdempotencyRecords:
    def __init__(
        self,
        db: StateDb,
        *,
        ttl: float = 24 * 3600,
        stale_after: float = 300,
        cleanup_every: float = CLEANUP_EVERY_SECONDS,
    ):
        self.db, self.ttl, self.stale_after = db, ttl, stale_after
        self.cleanup_every = cleanup_every
        lock = " FOR UPDATE SKIP LOCKED" if db.dialect == "postgresql" else ""
        self._cleanup = CLEANUP.format(lock=lock)
        self._next_cleanup = 0.0
        self._cleanup_lock = threading.Lock()

    def _cleanup_due(self) -> bool:
        """True for one caller per `cleanup_every` seconds."""
        with self._cleanup_lock:
            now = time.monotonic()
            if now < self._next_cleanup:
                return False
            self._next_cleanup = now + self.cleanup_every
            return True

    def begin(self, scope: str, key: str, fingerprint: str) -> StoredResponse | None:
        """The in-progress marker is committed without waiting for the disk on SQLite: a
        crash of this process keeps it, and `finish` waits for the disk."""
        now = time.time()
        with self.db.cursor(relaxed=True) as cursor:
            if self._cleanup_due():
                cursor.execute(self._cleanup, (now - self.ttl, CLEANUP_BATCH))
            # This key's record if it expired, or the same request's marker left by a crash.
            cursor.execute(
                "DELETE FROM responses WHERE scope = ? AND key = ? AND (created <= ?"
                " OR (fingerprint = ? AND status = ? AND created <= ?))",
                (scope, key, now - self.ttl, fingerprint, IN_PROGRESS, now - self.stale_after),
            )
            cursor.execute(
                "INSERT INTO responses (scope, key, fingerprint, status, body, created)"
                " VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT (scope, key) DO NOTHING",
                (scope, key, fingerprint, IN_PROGRESS, now),
            )
            if cursor.rowcount == 1:
                return None
            cursor.execute(
                "SELECT fingerprint, status, body FROM responses WHERE scope = ? AND key = ?",
                (scope, key),
            )
            row = cursor.fetchone()
        if row is None:  # finished with a 5xx and dropped in between: a retry runs afresh
            return self.begin(scope, key, fingerprint)
        return StoredResponse(row[0], row[1], bytes(row[2] or b""))

    def finish(self, scope: str, key: str, status: int, body: bytes) -> None:
        with self.db.cursor() as cursor:
            if status >= 500:
                cursor.execute("DELETE FROM responses WHERE scope = ? AND key = ?", (scope, key))
            else:
                cursor.execute(
                    "UPDATE responses SET status = ?, body = ? WHERE scope = ? AND key = ?",
                    (status, body, scope, key),
                )

    def forget_anonymous(self) -> None:
        """Only dev-login ever stored anonymous responses, and they were tokens."""
        with self.db.cursor() as cursor:
            cursor.execute("DELETE FROM responses WHERE scope = 'anonymous'")
