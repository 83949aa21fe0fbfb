"""Revoked tokens: the ids (`jti`) of logged-out tokens, kept until the tokens expire.

A SQLite file beside the gateway's other files, so a revocation survives a restart; the ids
are also held in memory, so checking a token costs no disk read. One gateway process owns
the file; replicas would need a shared table (PostgreSQL) and to read it on each check.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path


class RevocationList:
    def __init__(self, path: str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA busy_timeout = 10000")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS revoked (jti TEXT PRIMARY KEY, expires_at REAL NOT NULL)"
        )
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("DELETE FROM revoked WHERE expires_at < ?", (time.time(),))
            self._ids = {row[0] for row in self._conn.execute("SELECT jti FROM revoked")}

    def __contains__(self, jti: str) -> bool:
        return jti in self._ids

    def revoke(self, jti: str, expires_at: float) -> None:
        """Committed to disk before it returns; expired rows are dropped on the way."""
        with self._lock:
            self._conn.execute("INSERT OR IGNORE INTO revoked VALUES (?, ?)", (jti, expires_at))
            self._conn.execute("DELETE FROM revoked WHERE expires_at < ?", (time.time(),))
            self._ids = {row[0] for row in self._conn.execute("SELECT jti FROM revoked")}
