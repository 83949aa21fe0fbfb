"""Failed logins and one-time codes in SQL (the ports: state/ports.py; the rules that read
them: services/gateway/login_guard.py).

An attempt's check and its count happen in one transaction that holds a lock every replica
takes (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE on the file), so parallel guesses
through any replicas get no more tries than sequential ones. Logins are rare: one lock for all
of them costs nothing worth a finer one."""

from __future__ import annotations

from collections.abc import Callable

from services.gateway.state.db import StateDb
from services.gateway.state.ports import RecentFailures

SQLITE_TABLES = """
CREATE TABLE IF NOT EXISTS login_failures (source TEXT NOT NULL, username TEXT NOT NULL,
    at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_pair ON login_failures (source, username, at);
CREATE INDEX IF NOT EXISTS login_failures_at ON login_failures (at);
CREATE TABLE IF NOT EXISTS login_username_failures (username TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_username_failures_username
    ON login_username_failures (username, at);
CREATE INDEX IF NOT EXISTS login_username_failures_at ON login_username_failures (at);
CREATE TABLE IF NOT EXISTS login_source_failures (source TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_source_failures_source ON login_source_failures (source, at);
CREATE INDEX IF NOT EXISTS login_source_failures_at ON login_source_failures (at);
CREATE TABLE IF NOT EXISTS totp_steps (who TEXT PRIMARY KEY, step INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS device_nonces (nonce TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS device_nonces_at ON device_nonces (at);
"""
FAILURE_TABLES = ("login_failures", "login_username_failures", "login_source_failures")
LOGIN_LOCK = 0x6C6F6769  # "logi"
# Failures older than the window are deleted this many at a time, on each attempt.
CLEANUP_BATCH = 500


def _times(cursor, sql: str, params: tuple) -> list[float]:
    cursor.execute(sql, params)
    return [row[0] for row in cursor.fetchall()]


class SqlLoginFailures:
    def __init__(self, db: StateDb):
        self.db = db

    def attempt(
        self,
        source: str,
        username: str,
        now: float,
        window: float,
        check: Callable[[RecentFailures], None],
    ) -> None:
        since = now - window
        with self.db.transaction(LOGIN_LOCK) as cursor:
            for table in FAILURE_TABLES:
                cursor.execute(
                    f"DELETE FROM {table} WHERE at IN (SELECT at FROM {table}"  # noqa: S608
                    " WHERE at <= ? LIMIT ?) AND at <= ?",
                    (since, CLEANUP_BATCH, since),
                )
            check(
                RecentFailures(
                    pair=_times(
                        cursor,
                        "SELECT at FROM login_failures WHERE source = ? AND username = ?"
                        " AND at > ? ORDER BY at",
                        (source, username, since),
                    ),
                    source=_times(
                        cursor,
                        "SELECT at FROM login_source_failures WHERE source = ? AND at > ?"
                        " ORDER BY at",
                        (source, since),
                    ),
                    username=_times(
                        cursor,
                        "SELECT at FROM login_username_failures WHERE username = ? AND at > ?"
                        " ORDER BY at",
                        (username, since),
                    ),
                )
            )
            cursor.execute(
                "INSERT INTO login_failures (source, username, at) VALUES (?, ?, ?)",
                (source, username, now),
            )
            cursor.execute(
                "INSERT INTO login_username_failures (username, at) VALUES (?, ?)", (username, now)
            )
            cursor.execute(
                "INSERT INTO login_source_failures (source, at) VALUES (?, ?)", (source, now)
            )

    def succeeded(self, source: str, username: str, at: float) -> None:
        with self.db.transaction(LOGIN_LOCK) as cursor:
            cursor.execute(
                "DELETE FROM login_failures WHERE source = ? AND username = ?", (source, username)
            )
            cursor.execute("DELETE FROM login_username_failures WHERE username = ?", (username,))
            cursor.execute(
                "DELETE FROM login_source_failures WHERE source = ? AND at = ?", (source, at)
            )


class SqlUsedCodes:
    def __init__(self, db: StateDb):
        self.db = db

    def use_step(self, who: str, step: int) -> bool:
        with self.db.cursor() as cursor:
            cursor.execute(
                "INSERT INTO totp_steps (who, step) VALUES (?, ?) ON CONFLICT (who)"
                " DO UPDATE SET step = excluded.step WHERE totp_steps.step < excluded.step",
                (who, step),
            )
            return cursor.rowcount == 1

    def use_nonce(self, nonce: str, now: float, keep: float) -> bool:
        with self.db.cursor() as cursor:
            cursor.execute("DELETE FROM device_nonces WHERE at < ?", (now - keep,))
            cursor.execute(
                "INSERT INTO device_nonces (nonce, at) VALUES (?, ?) ON CONFLICT (nonce)"
                " DO NOTHING",
                (nonce, now),
            )
            return cursor.rowcount == 1
