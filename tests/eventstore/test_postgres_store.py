import pytest

from eventstore.postgres import PostgresEventStore
from tests.eventstore.conformance import EventLogConformance, ViewStoreConformance

pytestmark = pytest.mark.postgres


class TestPostgresConformance(EventLogConformance, ViewStoreConformance):
    @pytest.fixture
    def store_location(self, pg_dsn):
        return pg_dsn

    def open_store(self, location, **kwargs):
        return PostgresEventStore(location, pool_size=10, **kwargs)


def test_two_schemas_in_one_database_are_separate_stores(pg_dsn):
    from eventstore import NewEvent

    escrow = PostgresEventStore(pg_dsn, schema="escrow")
    merchant = PostgresEventStore(pg_dsn, schema="merchant")
    escrow.append("s", [NewEvent("t.A.v1", {})], 0)
    assert merchant.read_all() == []
    assert len(escrow.read_all()) == 1
    escrow.close()
    merchant.close()


class TestPostgresOnAMigratedSchema(EventLogConformance, ViewStoreConformance):
    """As production runs it: the schema made by `python -m platformrun.migrate`, the store a
    role that cannot CREATE, told never to (a CREATE left at open would fail here)."""

    @pytest.fixture
    def store_location(self, pg_dsn):
        from tests.support.migrated import libpq_dsn, migrated_url

        return libpq_dsn(migrated_url(pg_dsn, "escrow"))

    def open_store(self, location, **kwargs):
        dsn, schema = location
        return PostgresEventStore(dsn, pool_size=10, schema=schema, create=False, **kwargs)
