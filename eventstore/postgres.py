"""PostgreSQL adapter (psycopg 3).

Commit order equals position order: every append transaction takes one transaction-scoped
advisory lock before it reads the head position, and keeps it until it commits, so no
transaction can commit position p+1 while p is still open. Positions come from MAX()+1 under
that lock rather than from a sequence, so a rolled-back append leaves no gap.

Under eventlet, psycopg must run its pure-Python implementation (PSYCOPG_IMPL=python, or no
psycopg-binary installed): its waits then go through the green `select`, and greenthreads
are not serialised behind libpq calls.

Tables: in production they come from the versioned migrations (`python -m platformrun.migrate`,
platformrun/migrations/<service>/0001_event_store.sql, a link to postgres_schema.sql), and a
store that finds its schema migrated issues no CREATE, so its role needs none. A schema never
migrated is created at open (tests, development) unless `create=False` (`?create=false` on
the URL), which refuses it instead.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from eventstore.sql import SqlDialect, SqlEventStore, utc_now
from eventstore.upcasting import NO_UPCASTERS, UpcasterChain
from pgpool import PostgresPool

APPEND_LOCK_KEY = 0x70726570  # "prep"; mixed with the schema name, one lock per store

SCHEMA = (Path(__file__).parent / "postgres_schema.sql").read_text()
"""The tables, and the views' keys in byte order (a page is every key after the last one, and
a list the keys under a prefix: a database's own collation would mix "m-1/" with "m-10/")."""


class StoreNotMigrated(RuntimeError):
    """The schema has neither migrations nor leave to create its own tables."""


class PgDialect(SqlDialect):
    placeholder = "%s"


class PostgresEventStore(SqlEventStore):
    dialect = PgDialect()
    integrity_errors = (psycopg.errors.IntegrityError,)

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 4,
        schema: str | None = None,
        connect_timeout: int = 10,
        upcasters: UpcasterChain = NO_UPCASTERS,
        clock=utc_now,
        create: bool = True,
    ):
        super().__init__(upcasters=upcasters, clock=clock)
        self._dsn = dsn
        self._schema = schema
        self._lock_key = APPEND_LOCK_KEY ^ zlib.crc32((schema or "public").encode())
        self._connect_timeout = connect_timeout
        # At most pool_size connections, made as concurrent callers need them.
        self._pool = PostgresPool(
            dsn, schema=schema, connect_timeout=connect_timeout, max_size=pool_size
        )
        try:
            migrated = self._migrated()
        except BaseException:
            self.close()
            raise
        if migrated:
            return
        if not create:
            self.close()
            raise StoreNotMigrated(
                f"PostgreSQL schema {schema or 'public'!r} has no migrations applied:"
                " run `python -m platformrun.migrate` first"
            )
        if schema:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout) as conn:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        with self._write_transaction() as cursor:
            # Two services creating the schema at once would race on CREATE TABLE.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key + 1,))
            cursor.execute(SCHEMA)

    def _migrated(self) -> bool:
        """The schema's migrations were run (platformrun/migrate.py): its tables are there."""
        with self._read_cursor() as cursor:
            cursor.execute(
                "SELECT to_regclass('schema_migrations') IS NOT NULL,"
                " to_regclass('events') IS NOT NULL"
            )
            row = cursor.fetchone()
        if row is None or not row[0]:
            return False
        if not row[1]:
            raise StoreNotMigrated(
                f"PostgreSQL schema {self._schema or 'public'!r} is migrated but has no events"
                " table: run `python -m platformrun.migrate` with this code's migrations"
            )
        return True

    @contextmanager
    def _write_transaction(self) -> Iterator[psycopg.Cursor]:
        with self._pool.transaction() as cursor:
            yield cursor

    @contextmanager
    def _read_cursor(self) -> Iterator[psycopg.Cursor]:
        with self._pool.cursor() as cursor:
            yield cursor

    def lock_for_append(self, cursor: psycopg.Cursor) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))

    def close(self) -> None:
        self._pool.close()
