"""A nameko service opens its store at container start, and refuses a store without views."""

from __future__ import annotations

import pytest
from nameko.containers import ServiceContainer

from eventstore import EventStore
from eventstore.factory import StoreKeepsNoViews
from messaging.consumer import EventStoreDependency
from tests.support.harness import start_service, stop


class Probe:
    name = "probe"
    store = EventStoreDependency()


def dependency_of(container: ServiceContainer) -> EventStoreDependency:
    (found,) = [d for d in container.dependencies if isinstance(d, EventStoreDependency)]
    return found


def test_a_service_on_esdb_refuses_to_start_and_says_what_to_use():
    url = "esdb://user:secret@127.0.0.1:1?Tls=false&namespace=probe"
    container = ServiceContainer(Probe, {"STORE_URL": url})
    with pytest.raises(StoreKeepsNoViews) as refused:
        container.start()
    message = str(refused.value)
    assert "'probe'" in message and "STORE_URL" in message and "esdb://" in message
    assert "sqlite://" in message and "postgresql://" in message
    assert "secret" not in message
    assert dependency_of(container).store is None


def test_a_service_on_sqlite_starts_with_an_event_store(tmp_path):
    container = ServiceContainer(Probe, {"STORE_URL": f"sqlite:///{tmp_path / 'probe.db'}"})
    container.start()
    try:
        assert isinstance(dependency_of(container).store, EventStore)
    finally:
        container.stop()
    assert dependency_of(container).store is None


@pytest.mark.broker
def test_the_merchant_service_on_esdb_exits_at_start_with_the_reason(tmp_path, amqp_uri):
    url = "esdb://127.0.0.1:1?Tls=false&namespace=merchant"
    process = start_service("merchant", tmp_path, amqp_uri, STORE_URL=url)
    try:
        assert process.wait(timeout=60) != 0
    finally:
        stop(process)
    log = "".join(path.read_text() for path in tmp_path.glob("*.log"))
    assert "StoreKeepsNoViews" in log and "'merchant'" in log, log[-2000:]
    assert "sqlite://" in log and "postgresql://" in log
