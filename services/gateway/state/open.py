"""The gateway's state, opened from its settings: SQLite files next to each other (the default)
or one migrated PostgreSQL schema (`GATEWAY_STATE_URL=postgresql://...?schema=gateway`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.gateway.state import idempotency, logins, revocations
from services.gateway.state.db import PostgresDb, SqliteDb, StateDb, is_postgres
from services.gateway.state.idempotency import SqlIdempotencyRecords
from services.gateway.state.logins import SqlLoginFailures, SqlUsedCodes
from services.gateway.state.revocations import SqlRevokedTokens


@dataclass
class GatewayState:
    idempotency: SqlIdempotencyRecords
    revoked: SqlRevokedTokens
    login_failures: SqlLoginFailures
    used_codes: SqlUsedCodes
    dbs: tuple[StateDb, ...]

    def close(self) -> None:
        for db in self.dbs:
            db.close()


def logins_db_path(idempotency_db: str | Path) -> Path:
    """The SQLite file of failed logins and used codes, beside the idempotency records."""
    return Path(idempotency_db).resolve().with_name("logins.db")


def open_state(
    url: str,
    *,
    idempotency_db: str | Path,
    revocation_db: str | Path,
    idempotency_ttl: float = 24 * 3600,
    idempotency_stale_after: float = 300,
    revocation_refresh: float = revocations.DEFAULT_REFRESH,
) -> GatewayState:
    records: StateDb
    revoked: StateDb
    logins_db: StateDb
    if is_postgres(url):
        pg = PostgresDb(url).require_migrated()
        records, revoked, logins_db = pg, pg, pg
        dbs: tuple[StateDb, ...] = (pg,)
    elif url:
        raise ValueError(
            f"GATEWAY_STATE_URL must be empty (SQLite files) or postgresql://...: {url!r}"
        )
    else:
        records = SqliteDb(idempotency_db, idempotency.SQLITE_TABLES)
        revoked = SqliteDb(revocation_db, revocations.SQLITE_TABLES)
        logins_db = SqliteDb(logins_db_path(idempotency_db), logins.SQLITE_TABLES)
        dbs = (records, revoked, logins_db)
    store = SqlIdempotencyRecords(
        records,
        ttl=idempotency_ttl,
        stale_after=idempotency_stale_after,
        # Swept at most every 10 s, and at least once a record's lifetime.
        cleanup_every=min(idempotency.CLEANUP_EVERY_SECONDS, idempotency_ttl),
    )
    store.forget_anonymous()
    return GatewayState(
        idempotency=store,
        revoked=SqlRevokedTokens(revoked, refresh=revocation_refresh),
        login_failures=SqlLoginFailures(logins_db),
        used_codes=SqlUsedCodes(logins_db),
        dbs=dbs,
    )
