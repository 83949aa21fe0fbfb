"""The two engines under the gateway's state: a SQLite file, or a PostgreSQL schema.

Both give autocommit cursors (`cursor`) and serialised transactions (`transaction`) with the
same placeholder (`?` is rewritten to `%s` for psycopg), so each store writes its SQL once.

PostgreSQL: psycopg 3 through pgpool, one connection per concurrent request, kept for the next
one; under eventlet psycopg must run its pure-Python implementation (PSYCOPG_IMPL=python), as
the event store does (eventstore/postgres.py). The schema is chosen with `?schema=` on the URL
(libpq's search_path); its tables must exist already: the gateway never creates them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from pgpool import PostgresPool, is_postgres, split_url
from services.gateway.private_file import ensure_private_file

__all__ = ["NotMigrated", "PostgresDb", "SqliteDb", "StateDb", "is_postgres", "postgres_dsn"]


class NotMigrated(RuntimeError):
    """The PostgreSQL schema has not been migrated: `python -m platformrun.migrate`."""


class Cursor(Protocol):
    rowcount: int

    def execute(self, sql: str, params: Any = ...) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class StateDb(Protocol):
    errors: tuple[type[Exception], ...]
    dialect: str
    """`sqlite` or `postgresql`."""

    def cursor(self, *, relaxed: bool = False) -> Any:
        """An autocommit cursor; `relaxed`: SQLite may commit without waiting for the disk."""

    def transaction(self, lock: int) -> Any:
        """A cursor in one transaction, serialised with every other holder of `lock`."""

    def close(self) -> None: ...


class _SqlCursor:
    """Rewrites `?` to the driver's placeholder."""

    def __init__(self, cursor: Any, placeholder: str):
        self._cursor, self._p = cursor, placeholder

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def execute(self, sql: str, params: Any = ()) -> Any:
        if self._p != "?":
            sql = sql.replace("?", self._p)
        return self._cursor.execute(sql, params)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()


class SqliteDb:
    """One file, shared by the process's threads; created 0600 with `tables` in it."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    dialect = "sqlite"

    def __init__(self, path: str | Path, tables: str = ""):
        ensure_private_file(path)
        self.path = Path(path)
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA busy_timeout = 10000")
        if tables:
            self._conn.executescript(tables)
        self._lock = threading.Lock()

    @contextmanager
    def cursor(self, *, relaxed: bool = False) -> Iterator[_SqlCursor]:
        with self._lock:
            if relaxed:
                self._conn.execute("PRAGMA synchronous = NORMAL")
            try:
                yield _SqlCursor(self._conn.cursor(), "?")
            finally:
                if relaxed:
                    self._conn.execute("PRAGMA synchronous = FULL")

    @contextmanager
    def transaction(self, lock: int) -> Iterator[_SqlCursor]:
        """BEGIN IMMEDIATE: other processes on the file wait for it too."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqlCursor(self._conn.cursor(), "?")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()


postgres_dsn = split_url
"""A libpq URI without our `schema` parameter, and the schema it named."""


class PostgresDb:
    """A schema of a PostgreSQL database, already migrated."""

    dialect = "postgresql"

    def __init__(self, url: str, *, connect_timeout: int = 10):
        import psycopg

        self.errors: tuple[type[Exception], ...] = (psycopg.Error,)
        self._pool = PostgresPool.from_url(url, connect_timeout=connect_timeout)
        self.schema = self._pool.schema

    def require_migrated(self) -> PostgresDb:
        """Fails at start, not at the first request, when the schema was never migrated."""
        with self.cursor() as cursor:
            cursor.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if not cursor.fetchone()[0]:
                raise NotMigrated(
                    f"PostgreSQL schema {self.schema or 'public'!r} has no migrations applied:"
                    " run `python -m platformrun.migrate` first"
                )
        return self

    @contextmanager
    def cursor(self, *, relaxed: bool = False) -> Iterator[_SqlCursor]:
        with self._pool.cursor() as cursor:
            yield _SqlCursor(cursor, "%s")

    @contextmanager
    def transaction(self, lock: int) -> Iterator[_SqlCursor]:
        with self._pool.transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
            yield _SqlCursor(cursor, "%s")

    def close(self) -> None:
        self._pool.close()
