"""Revoked tokens in SQL: the ids (`jti`) of logged-out tokens, kept until the tokens expire.

A check reads an in-memory set, never the table on the request's path. The set is reloaded
from the table (the unexpired ids) when a check finds it older than `refresh` seconds
(`GATEWAY_REVOCATION_REFRESH_SECONDS`, 1 by default), by one request at a time while the
others read the set they have. So:

* a revocation made through this replica applies at once (it is added to the set);
* one made through another replica is refused here within `refresh` seconds: the
  cross-replica delay, the only window in which a logged-out token still works elsewhere;
* while the table cannot be read, the last set read stays in force and the reload is
  retried after the next `refresh` (requests are served; a failure is logged). Before the
  first read has succeeded a check fails, as every check did before this set existed.
"""

from __future__ import annotations

import logging
import threading
import time

from services.gateway.state.db import StateDb

log = logging.getLogger(__name__)

SQLITE_TABLES = """
CREATE TABLE IF NOT EXISTS revoked (jti TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS revoked_expiry ON revoked (expires_at);
"""
DEFAULT_REFRESH = 1.0


class SqlRevokedTokens:
    def __init__(self, db: StateDb, refresh: float = DEFAULT_REFRESH):
        self.db = db
        self.refresh = refresh
        self._known: frozenset[str] = frozenset()
        self._mine: dict[str, float] = {}
        """Revoked through this replica since the last reload began (kept across it)."""
        self._loaded_at: float | None = None
        self._lock = threading.Lock()
        self._reloading = threading.Lock()

    def __contains__(self, jti: str) -> bool:
        self._maybe_reload()
        return jti in self._known or jti in self._mine

    def _maybe_reload(self) -> None:
        loaded_at = self._loaded_at
        if loaded_at is not None and time.monotonic() - loaded_at < self.refresh:
            return
        first = loaded_at is None
        if not self._reloading.acquire(blocking=first):
            return  # another request reloads; this one reads the set there is
        try:
            if self._loaded_at is not None and self._loaded_at != loaded_at:
                return  # reloaded while this one waited
            started = time.monotonic()
            with self._lock:
                mine_before = set(self._mine)
            now = time.time()
            try:
                with self.db.cursor() as cursor:
                    cursor.execute("SELECT jti FROM revoked WHERE expires_at >= ?", (now,))
                    known = frozenset(row[0] for row in cursor.fetchall())
            except Exception:
                if first:
                    raise  # no set read yet: refuse rather than let every revoked token in
                log.warning("revoked tokens: cannot reload; keeping the last set", exc_info=True)
                self._loaded_at = started
                return
            with self._lock:
                self._known = known
                for jti in mine_before:
                    if jti in known or self._mine[jti] < now:
                        del self._mine[jti]
            self._loaded_at = started
        finally:
            self._reloading.release()

    def revoke(self, jti: str, expires_at: float) -> None:
        """Committed before it returns; expired rows are dropped on the way."""
        with self.db.cursor() as cursor:
            cursor.execute(
                "INSERT INTO revoked (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING",
                (jti, expires_at),
            )
            cursor.execute("DELETE FROM revoked WHERE expires_at < ?", (time.time(),))
        with self._lock:
            self._mine[jti] = expires_at
