"""Revoked tokens in SQL: the ids (`jti`) of logged-out tokens, kept until the tokens expire.

Every check asks the table, so a token revoked through one replica is refused by all; a
revocation seen once is also remembered in memory (it never becomes valid again)."""

from __future__ import annotations

import threading
import time

from services.gateway.state.db import StateDb

SQLITE_TABLES = """
CREATE TABLE IF NOT EXISTS revoked (jti TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS revoked_expiry ON revoked (expires_at);
"""
KNOWN_CACHE = 50_000


class SqlRevokedTokens:
    def __init__(self, db: StateDb):
        self.db = db
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def __contains__(self, jti: str) -> bool:
        if jti in self._known:
            return True
        with self.db.cursor() as cursor:
            cursor.execute("SELECT 1 FROM revoked WHERE jti = ?", (jti,))
            found = cursor.fetchone() is not None
        if found:
            self._remember(jti)
        return found

    def _remember(self, jti: str) -> None:
        with self._lock:
            if len(self._known) >= KNOWN_CACHE:
                self._known.clear()
            self._known.add(jti)

    def revoke(self, jti: str, expires_at: float) -> None:
        """Committed before it returns; expired rows are dropped on the way."""
        with self.db.cursor() as cursor:
            cursor.execute(
                "INSERT INTO revoked (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING",
                (jti, expires_at),
            )
            cursor.execute("DELETE FROM revoked WHERE expires_at < ?", (time.time(),))
        self._remember(jti)
