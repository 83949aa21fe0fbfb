"""The simulated bank's movements in the escrow's PostgreSQL schema (table bank_movements,
platformrun/migrations/escrow/0002_bank_statements.sql), so that every escrow replica takes a
movement once and reads the same statements. Config BANK_STATEMENT_URL=postgresql://...
?schema=escrow; the table comes from `python -m platformrun.migrate`: no CREATE here."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg


class StatementsNotMigrated(RuntimeError):
    """The schema has no bank_movements table: run `python -m platformrun.migrate` first."""


class PostgresMovements:
    def __init__(self, url: str, *, connect_timeout: int = 10):
        self._psycopg = psycopg
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.schema = query.pop("schema", None)
        self._dsn = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))
        self._options: dict[str, Any] = {"connect_timeout": connect_timeout}
        if self.schema:
            self._options["options"] = f"-c search_path={self.schema}"
        self._idle: queue.LifoQueue = queue.LifoQueue()
        with self._cursor() as cursor:
            cursor.execute("SELECT to_regclass('bank_movements') IS NOT NULL")
            if not cursor.fetchone()[0]:
                raise StatementsNotMigrated(
                    f"PostgreSQL schema {self.schema or 'public'!r} has no bank_movements"
                    " table: run `python -m platformrun.migrate` first"
                )

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._psycopg.connect(self._dsn, autocommit=True, **self._options)
        try:
            with conn.cursor() as cursor:
                yield cursor
        except self._psycopg.OperationalError:
            conn.close()
            raise
        finally:
            if not conn.closed:
                self._idle.put(conn)

    def take(self, movement: dict) -> None:
        with self._cursor() as cursor:
            cursor.execute(
                "INSERT INTO bank_movements (kind, reference, account, amount, at, day)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (
                    movement["kind"],
                    movement["reference"],
                    movement["account"],
                    movement["amount"],
                    movement["at"],
                    movement["at"][:10],
                ),
            )

    def day(self, day: str) -> list[dict]:
        with self._cursor() as cursor:
            cursor.execute(
                "SELECT at, kind, reference, account, amount FROM bank_movements"
                " WHERE day = %s ORDER BY seq",
                (day,),
            )
            rows = cursor.fetchall()
        return [
            {"account": a, "amount": m, "at": at, "kind": k, "reference": r}
            for at, k, r, a, m in rows
        ]

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().close()
