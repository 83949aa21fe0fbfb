"""Which URL opens which port: services need an event store that keeps views, the relay and the
park CLI need only a log. A log-only URL is refused before anything is started or connected."""

from __future__ import annotations

import subprocess

import pytest

from eventstore import EventLog, EventStore, ViewStore
from eventstore import factory as factory_module
from eventstore.esdb import EsdbEventLog
from eventstore.factory import StoreKeepsNoViews, open_event_log, open_store
from tests.support.fake_esdb import FakeEsdbClient

ESDB_URL = "esdb://127.0.0.1:1?Tls=false&namespace=escrow"


@pytest.fixture
def nothing_may_start(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a child process was started")

    monkeypatch.setattr(subprocess, "Popen", refuse)


@pytest.mark.parametrize("scheme", ["esdb", "esdb+discover", "kurrentdb"])
def test_open_store_refuses_a_log_only_url_before_starting_anything(scheme, nothing_may_start):
    with pytest.raises(StoreKeepsNoViews) as refused:
        open_store(ESDB_URL.replace("esdb", scheme, 1))
    message = str(refused.value)
    assert f"{scheme}://" in message
    assert "sqlite://" in message and "postgresql://" in message
    assert "127.0.0.1" not in message, "the URL may carry a password; only its scheme is named"


def test_open_store_gives_sqlite_with_views(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'e.db'}")
    try:
        assert isinstance(store, EventStore) and isinstance(store, ViewStore)
    finally:
        store.close()


def test_a_log_only_store_behind_any_other_scheme_is_refused_and_closed(monkeypatch):
    closed = []

    class FakeLog(EsdbEventLog):
        def close(self) -> None:
            closed.append(True)

    fake = FakeEsdbClient()
    monkeypatch.setattr(
        factory_module,
        "open_event_log",
        lambda url, **options: FakeLog(
            "esdb://fake", namespace="ns", client_factory=lambda _: fake
        ),
    )
    with pytest.raises(StoreKeepsNoViews, match="newlog://"):
        open_store("newlog://somewhere")
    assert closed == [True]


def test_the_relay_and_the_park_cli_still_open_an_esdb_log():
    log = open_event_log(ESDB_URL, timeout=1.0)  # no server: nothing connects until a call
    try:
        assert isinstance(log, EventLog)
        assert not isinstance(log, ViewStore)
        assert not hasattr(log, "get_view")
    finally:
        log.close()


def test_esdb_log_declares_no_views():
    log = EsdbEventLog("esdb://fake", namespace="ns", client_factory=lambda _: FakeEsdbClient())
    assert isinstance(log, EventLog) and not isinstance(log, ViewStore)
    with log.unit_of_work() as uow:
        assert not hasattr(uow, "put_view")
