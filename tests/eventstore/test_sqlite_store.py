import pytest

from eventstore import NewEvent
from eventstore.sqlite import SqliteEventStore
from tests.eventstore.conformance import EventLogConformance, ViewStoreConformance


class TestSqliteConformance(EventLogConformance, ViewStoreConformance):
    @pytest.fixture
    def store_location(self, tmp_path):
        return tmp_path / "events.db"

    def open_store(self, location, **kwargs):
        return SqliteEventStore(location, pool_size=10, **kwargs)


def test_file_is_in_wal_mode_with_full_sync(tmp_path):
    store = SqliteEventStore(tmp_path / "e.db")
    with store._read_cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


def test_events_survive_reopening(tmp_path):
    store = SqliteEventStore(tmp_path / "e.db")
    store.append("s", [NewEvent("t.A.v1", {"amount": 1})], 0)
    store.close()
    again = SqliteEventStore(tmp_path / "e.db")
    assert again.read_stream("s")[0].data == {"amount": 1}
    again.close()
