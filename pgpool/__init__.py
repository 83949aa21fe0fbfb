"""One small pool of psycopg 3 connections, for every PostgreSQL user of the platform.

A URL is any libpq URI plus our `schema` parameter (`postgresql://...?schema=merchant`), which
becomes the connections' search_path. Connections are autocommit; `transaction()` opens one.
Idle connections are kept LIFO (the warmest first) and made on demand; `max_size` bounds how
many exist at once (a caller then waits for one to come back). A connection that fails with
an OperationalError, or comes back closed or inside a transaction, is closed, not kept; an
OperationalError also closes every idle connection, which most likely shares its fate (a
server restart), so each one does not fail a caller in turn.

Why ours and not psycopg_pool: psycopg_pool 3.3.3 works under eventlet too (measured with
PSYCOPG_IMPL=python, monkey-patched, 4 connections: 8 callers of pg_sleep(0.3) took 0.73 s
against this pool's 0.66 s, and SELECT 1 ran at the same rate, ~460/s on the loaded test
machine). It keeps min_size connections open from worker threads and makes a caller wait up
to its timeout (30 s) when the database is away; the platform's callers want no background
activity and an error at once, then a new connection on the next call. That is this page,
without a dependency.

Under eventlet psycopg must run its pure-Python implementation (PSYCOPG_IMPL=python), so its
waits go through the green `select` instead of blocking the process inside libpq. psycopg is
imported with this module, not when a pool is made: nameko sets a service's dependencies up in
parallel greenthreads, and one importing psycopg lazily while another's import of it was
switched out mid-way got the half-initialised module (`partially initialized module 'psycopg'
has no attribute 'connect'`; greenthreads share the one thread's import lock).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg


def is_postgres(url: str) -> bool:
    return url.split(":", 1)[0] in ("postgresql", "postgres")


def split_url(url: str) -> tuple[str, str | None]:
    """A libpq URI without our `schema` parameter, and the schema it named."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    schema = query.pop("schema", None)
    return urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query))), schema


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


class PostgresPool:
    """Connections to one schema of one database."""

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        connect_timeout: int = 10,
        max_size: int | None = None,
        read_only: bool = False,
    ):
        self._psycopg = psycopg
        self.dsn, self.schema = dsn, schema
        # libpq connection parameters, which psycopg.connect takes as keyword arguments.
        self._options: dict[str, Any] = {"connect_timeout": connect_timeout}
        settings = []
        if schema:
            settings.append(f"-c search_path={schema}")
        if read_only:
            settings.append("-c default_transaction_read_only=on")
        if settings:
            self._options["options"] = " ".join(settings)
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(max_size) if max_size else None
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> PostgresPool:
        dsn, schema = split_url(url)
        return cls(dsn, schema=schema, **kwargs)

    def connect(self) -> psycopg.Connection:
        """A new autocommit connection, outside the pool (the caller closes it)."""
        return self._psycopg.connect(self.dsn, autocommit=True, **self._options)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        if self._slots is not None:
            self._slots.acquire()
        try:
            conn = self._take()
            try:
                yield conn
            except self._psycopg.OperationalError:
                conn.close()  # a broken connection is not put back
                self._close_idle()
                raise
            finally:
                self._give_back(conn)
        finally:
            if self._slots is not None:
                self._slots.release()

    def _take(self) -> psycopg.Connection:
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return self.connect()
            if not conn.closed:
                return conn

    def _give_back(self, conn: psycopg.Connection) -> None:
        if conn.closed:
            return
        idle = self._psycopg.pq.TransactionStatus.IDLE
        if self._closed or conn.info.transaction_status != idle:
            conn.close()  # a transaction left open (a caller's bug, or a kill) is not reused
            return
        self._idle.put(conn)

    @contextmanager
    def cursor(self) -> Iterator[psycopg.Cursor]:
        """An autocommit cursor."""
        with self.connection() as conn, conn.cursor() as cursor:
            yield cursor

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Cursor]:
        """A cursor in one transaction, committed when the block ends without an error."""
        with self.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            yield cursor

    def has_tables(self, *tables: str) -> bool:
        """Whether the schema has every table named (a migrated schema does)."""
        checks = " AND ".join(["to_regclass(%s) IS NOT NULL"] * len(tables))
        with self.cursor() as cursor:
            cursor.execute(f"SELECT {checks}", tables)
            row = cursor.fetchone()
        return bool(row and row[0])

    def close(self) -> None:
        self._closed = True
        self._close_idle()

    def _close_idle(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
