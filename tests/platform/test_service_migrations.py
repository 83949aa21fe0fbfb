"""The services' schemas come from the versioned migrations: `python -m platformrun.migrate`
makes every event store (and the vaults and bank movements beside them), and a service's role
then reads and writes without CREATE. Stores opened in tests and development still make their
own tables when no migration was run."""

from __future__ import annotations

import psycopg
import pytest

from eventstore import NewEvent
from eventstore.factory import open_store
from eventstore.postgres import SCHEMA, PostgresEventStore, StoreNotMigrated
from platformrun.migrate import MIGRATIONS, known, migrate
from platformrun.registry import EVENT_SOURCED
from services.job_lock import open_job_locks
from tests.support.gateway_state import postgres_url, runtime_role

pytestmark = pytest.mark.postgres


def test_every_event_sourced_service_has_the_event_store_migration_the_store_creates():
    migrations = known(MIGRATIONS)
    for service in EVENT_SOURCED:
        first = migrations[service][0]
        assert (first.version, first.name) == (1, "event_store"), service
        assert first.sql == SCHEMA, service  # one text: the migration links to the store's
        assert migrations[service][-1].name == "job_leases", service
    for service in ("merchant", "risk"):  # the services with a person-key vault
        assert "vault" in [m.name for m in migrations[service]], service
    assert "bank_statements" in [m.name for m in migrations["escrow"]]


def test_a_migrated_schema_is_used_by_a_role_that_cannot_create(pg_dsn):
    role = runtime_role(pg_dsn)
    migrate(
        postgres_url(pg_dsn),
        schemas=list(EVENT_SOURCED),
        grants={s: role for s in EVENT_SOURCED},
        log=lambda _: None,
    )
    for service in EVENT_SOURCED:
        url = postgres_url(pg_dsn, user=role, schema=service) + "&create=false"
        store = open_store(url)
        store.append("s-1", [NewEvent("t.Happened.v1", {"n": 1})], 0)
        with store.unit_of_work() as uow:
            uow.put_view("things", "a/1", {"n": 1})
        assert [e.data for e in store.read_all()] == [{"n": 1}]
        assert store.get_view("things", "a/1") == {"n": 1}
        store.close()
        locks = open_job_locks(url)  # the scheduled jobs' leases, on the migrated table
        assert locks.acquire("sweep")
        locks.close()
    with psycopg.connect(postgres_url(pg_dsn, user=role), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE escrow.extra (x INT)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE SCHEMA IF NOT EXISTS escrow")


def test_an_unmigrated_schema_is_refused_when_creating_is_not_allowed(pg_dsn):
    url = postgres_url(pg_dsn, schema="merchant") + "&create=false"
    with pytest.raises(StoreNotMigrated, match="platformrun.migrate"):
        open_store(url)
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT to_regnamespace('merchant')").fetchone()[0] is None


def test_a_store_that_made_its_own_tables_is_migrated_in_place(pg_dsn):
    """A deployment from before migrations: the store made its tables; the migration records
    them as version 1 and keeps their rows, and the store then opens without CREATE."""
    old = PostgresEventStore(pg_dsn, schema="risk")
    old.append("s-1", [NewEvent("t.Happened.v1", {"n": 1})], 0)
    old.close()
    role = runtime_role(pg_dsn)
    migrate(postgres_url(pg_dsn), schemas=["risk"], grants={"risk": role}, log=lambda _: None)
    base = postgres_url(pg_dsn, user=role)
    store = PostgresEventStore(base, schema="risk", create=False)
    assert [e.data for e in store.read_all()] == [{"n": 1}]
    store.append("s-1", [NewEvent("t.Happened.v1", {"n": 2})], 1)
    store.close()
