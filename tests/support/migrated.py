"""A service's schema on the session's PostgreSQL as production has it: migrated by the owner
(`platformrun.migrate`), then used by a role that may read and write but never CREATE."""

from __future__ import annotations

from platformrun.migrate import migrate
from tests.support.gateway_state import postgres_url, runtime_role


def migrated_url(pg_dsn: str, schema: str, *, role: str | None = None) -> str:
    """The runtime role's URL of `schema`, migrated (a second call only grants)."""
    role = role or runtime_role(pg_dsn)
    migrate(postgres_url(pg_dsn), schemas=[schema], grants={schema: role}, log=lambda _: None)
    return postgres_url(pg_dsn, user=role, schema=schema)


def libpq_dsn(url: str) -> tuple[str, str]:
    """A migrated URL as the event store's constructor takes it: the DSN and the schema."""
    base, _, schema = url.partition("?schema=")
    return base, schema
