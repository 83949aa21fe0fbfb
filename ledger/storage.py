"""Where the ledger's rows live: one SQLite file, or one schema of a PostgreSQL database.

The ledger (ledger/log.py) writes its SQL once, with `?` placeholders and the upserts both
engines share (`ON CONFLICT ... DO UPDATE / DO NOTHING`); a `LedgerDb` runs it:
* `SqliteLedgerDb`: one connection to the file (WAL, synchronous=FULL); a transaction is
  BEGIN IMMEDIATE, which also waits for any other process writing the file. The file's
  tables are created at open (CREATE IF NOT EXISTS), as they always were.
* `PostgresLedgerDb`: a pool of connections (pgpool) to a migrated schema
  (platformrun/migrations/ledger/0001_ledger.sql, a link to ledger/postgres_schema.sql): no
  CREATE at run time. A transaction holds the ledger's advisory lock, so two writers (one
  whose lease lapsed unnoticed) serialise instead of interleaving, and every read the
  transaction's own thread makes goes through its connection (a checkpoint's proof must see
  the batch's new nodes); other threads read committed rows on other connections.
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from pgpool import PostgresPool, is_postgres, redacted, split_url

POSTGRES_SCHEMA = Path(__file__).with_name("postgres_schema.sql")
LEDGER_TABLES = ("entries", "nodes", "checkpoints", "cosignatures", "merchant_postings", "meta")
COPY_TYPES = {
    "entries": ["bigint", "text", "bytea", "bytea"],
    "nodes": ["integer", "bigint", "bytea"],
}
"""The columns of the tables an append inserts into, as ledger/postgres_schema.sql has them."""
DEFAULT_POOL_SIZE = 12
"""Connections to PostgreSQL at most, unless configured (LEDGER_PG_POOL): nameko's default
10 workers, the consumer's batch and one more; a caller beyond them waits for one."""
APPEND_LOCK_KEY = 0x6C656467  # "ledg"; mixed with the schema name, one lock per ledger

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    idx      INTEGER PRIMARY KEY,
    event_id TEXT UNIQUE,
    entry    BLOB NOT NULL,
    leaf     BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cosignatures (
    size    INTEGER NOT NULL,
    witness TEXT NOT NULL,
    line    TEXT NOT NULL,
    PRIMARY KEY (size, witness)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS merchant_postings (
    merchant_id TEXT NOT NULL,
    first_idx   INTEGER NOT NULL,
    idxs        BLOB NOT NULL,
    PRIMARY KEY (merchant_id, first_idx)
) WITHOUT ROWID;
DROP TABLE IF EXISTS merchant_entries;
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""
"""The file's tables; PostgreSQL's are the same in ledger/postgres_schema.sql."""


class LedgerNotMigrated(RuntimeError):
    """The PostgreSQL schema has no ledger tables: run `python -m platformrun.migrate` first."""


class LedgerDb(ABC):
    location: str
    """The file's path or the URL (without credentials' secrets), for messages."""
    errors: tuple[type[Exception], ...]
    """What a damaged or unreachable store raises."""

    @abstractmethod
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def rows_in(self, sql: str, values: Sequence[Any]) -> list[tuple]:
        """`sql` with `{in}` where the values' test goes: `WHERE idx {in}`."""
        found: list[tuple] = []
        for start in range(0, len(values), 500):  # SQLite's parameters are limited
            chunk = values[start : start + 500]
            found.extend(
                self.rows(sql.format(**{"in": f"IN ({','.join('?' * len(chunk))})"}), chunk)
            )
        return found

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def insert(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        """Inserts whole rows (every column, in order) into one of the ledger's tables."""
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            self.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Commits every write made in the block by this thread, or none of them."""

    @abstractmethod
    def close(self) -> None: ...


class SqliteLedgerDb(LedgerDb):
    errors = (sqlite3.Error,)

    def __init__(self, conn: sqlite3.Connection, location: str):
        self._conn = conn
        self.location = location

    @classmethod
    def open(cls, path: str | Path, *, synchronous: str = "FULL") -> SqliteLedgerDb:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.executescript(SQLITE_SCHEMA)
        return cls(conn, path)

    @classmethod
    def open_readonly(cls, path: str | Path) -> SqliteLedgerDb:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        return cls(conn, str(path))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()


class PostgresLedgerDb(LedgerDb):
    def __init__(
        self,
        url: str,
        *,
        read_only: bool = False,
        connect_timeout: int = 10,
        pool_size: int | None = DEFAULT_POOL_SIZE,
    ):
        import psycopg

        dsn, schema = split_url(url)
        self.location = redacted(url)
        self.errors = (psycopg.Error,)
        self._pool = PostgresPool(
            dsn,
            schema=schema,
            connect_timeout=connect_timeout,
            read_only=read_only,
            max_size=pool_size,
        )
        self._lock_key = APPEND_LOCK_KEY ^ zlib.crc32((schema or "public").encode())
        self._in_transaction = threading.local()  # green-local under eventlet
        if not self._pool.has_tables(*LEDGER_TABLES):
            self._pool.close()
            raise LedgerNotMigrated(
                f"PostgreSQL schema {schema or 'public'!r} has no ledger tables:"
                " run `python -m platformrun.migrate` first"
            )

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        conn = getattr(self._in_transaction, "conn", None)
        if conn is not None:
            with conn.cursor() as cursor:
                yield cursor
        else:
            with self._pool.cursor() as cursor:
                yield cursor

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall()

    def rows_in(self, sql: str, values: Sequence[Any]) -> list[tuple]:
        # One array parameter: psycopg (pure Python) parses a query of 500 placeholders slowly.
        return self.rows(sql.format(**{"in": "= ANY(?)"}), (list(values),)) if values else []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._cursor() as cursor:
                cursor.executemany(sql.replace("?", "%s"), rows)

    def insert(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        # Binary COPY: psycopg runs pure Python here, and formatting each row as an INSERT's
        # parameters, or as COPY text (bytea escaped), costs most of a batch.
        if not rows:
            return
        with self._cursor() as cursor:
            with cursor.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(COPY_TYPES[table])
                for row in rows:
                    copy.write_row(row)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            self._in_transaction.conn = conn
            try:
                yield
            finally:
                self._in_transaction.conn = None

    def close(self) -> None:
        self._pool.close()


def open_ledger_db(
    location: str | Path,
    *,
    read_only: bool = False,
    synchronous: str = "FULL",
    pool_size: int | None = None,
) -> LedgerDb:
    """A `postgresql://…?schema=` URL (at most `pool_size` connections, DEFAULT_POOL_SIZE when
    None), or a file path."""
    if isinstance(location, str) and is_postgres(location):
        return PostgresLedgerDb(
            location, read_only=read_only, pool_size=pool_size or DEFAULT_POOL_SIZE
        )
    if read_only:
        return SqliteLedgerDb.open_readonly(location)
    return SqliteLedgerDb.open(location, synchronous=synchronous)
