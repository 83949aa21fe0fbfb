"""The simulated bank's movements in the escrow's PostgreSQL schema (table bank_movements,
platformrun/migrations/escrow/0002_bank_statements.sql), so that every escrow replica takes a
movement once and reads the same statements. Config BANK_STATEMENT_URL=postgresql://...
?schema=escrow; the table comes from `python -m platformrun.migrate`: no CREATE here."""

from __future__ import annotations

from pgpool import PostgresPool


class StatementsNotMigrated(RuntimeError):
    """The schema has no bank_movements table: run `python -m platformrun.migrate` first."""


class PostgresMovements:
    def __init__(self, url: str, *, connect_timeout: int = 10):
        self._pool = PostgresPool.from_url(url, connect_timeout=connect_timeout)
        self.schema = self._pool.schema
        if not self._pool.has_tables("bank_movements"):
            self._pool.close()
            raise StatementsNotMigrated(
                f"PostgreSQL schema {self.schema or 'public'!r} has no bank_movements"
                " table: run `python -m platformrun.migrate` first"
            )

    def take(self, movement: dict) -> None:
        with self._pool.cursor() as cursor:
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
        with self._pool.cursor() as cursor:
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
        self._pool.close()
