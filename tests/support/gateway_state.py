"""The gateway's state on the session's PostgreSQL: migrated by the owner, used by a role that
may only read and write (no CREATE), as in production."""

from __future__ import annotations

import uuid


def postgres_url(pg_dsn: str, *, user: str | None = None, schema: str | None = None) -> str:
    parts = dict(item.split("=", 1) for item in pg_dsn.split())
    url = f"postgresql://{user or parts['user']}@{parts['host']}:{parts['port']}/{parts['dbname']}"
    return f"{url}?schema={schema}" if schema else url


def runtime_role(pg_dsn: str) -> str:
    """A new login role with no rights beyond connecting (trust auth on the test cluster)."""
    import psycopg

    role = f"gw_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
    return role


def migrated_gateway_url(pg_dsn: str) -> str:
    """`python -m platformrun.migrate` as the owner, granting a fresh runtime role; the URL the
    gateway then uses, as that role."""
    from platformrun.migrate import migrate

    role = runtime_role(pg_dsn)
    migrate(postgres_url(pg_dsn), schemas=["gateway"], grants={"gateway": role}, log=lambda _: None)
    return postgres_url(pg_dsn, user=role, schema="gateway")
