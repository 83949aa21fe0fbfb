"""The outbox relay against a real RabbitMQ node and a real nameko consumer process."""

from __future__ import annotations

import threading

import pytest

from messaging.relay import FAULT_ENV
from tests.support.harness import wait_until
from tests.support.relay_platform import Platform, sell

pytestmark = pytest.mark.broker


@pytest.fixture
def platform(tmp_path, amqp_uri):
    p = Platform(tmp_path, amqp_uri)
    yield p
    p.close()


def test_every_event_reaches_a_real_nameko_handler_once(platform):
    ids = sell(platform.source, 300)
    # The relay starts first: it declares the handler's durable queue, so nothing published
    # before the consumer exists is lost.
    platform.start_relay()
    wait_until(
        lambda: platform.source.position("relay:shop") == platform.source.head_position(),
        what="relay to confirm everything",
    )
    platform.start_recorder()
    recorded = platform.wait_for(ids)
    assert set(recorded) == set(ids)
    by_position = {e.id: e.position for e in platform.source.read_all(0, 1000)}
    for event_id, doc in recorded.items():
        assert doc["applied"] == 1
        assert doc["source"] == "shop"
        assert doc["position"] == by_position[event_id]
    assert sorted(d["amount"] for d in recorded.values()) == list(range(100, 400))

    later = sell(platform.source, 50, start=300)
    platform.wait_for(later)


def test_relay_killed_between_confirm_and_save_loses_nothing_and_consumer_dedupes(platform):
    ids = sell(platform.source, 600)
    platform.start_recorder()
    # A window of 50 makes the relay save its position a dozen times over 600 events, so the
    # second save, where the fault strikes, always comes (one window could be one save).
    crashed = platform.start_relay(
        "--batch-size", "50", "--max-in-flight", "50", **{FAULT_ENV: "2"}
    )
    crashed.wait(timeout=60)
    assert crashed.returncode == -9, "the relay was to die by SIGKILL before saving"
    saved = platform.source.position("relay:shop")
    assert saved < platform.source.head_position()

    platform.start_relay()
    recorded = platform.wait_for(ids)
    assert len(recorded) == 600
    assert all(doc["applied"] == 1 for doc in recorded.values())
    assert set(platform.deliveries()) == set(ids)
    assert len(platform.deliveries()) == 600, "each event reached the handler body once"
    duplicates = platform.consumer_log().count("already processed; acking duplicate")
    assert duplicates >= 1, "confirmed-but-unsaved events must have been published again"


def test_a_handler_that_raises_gets_the_event_again(platform):
    ok = sell(platform.source, 5)
    flaky = sell(platform.source, 1, start=5, fail_times=2)[0]
    platform.start_recorder()
    platform.start_relay()
    recorded = platform.wait_for(ok + [flaky])
    assert recorded[flaky]["applied"] == 1
    assert platform.deliveries().count(flaky) == 3


@pytest.mark.slow
def test_broker_restart_while_relay_runs_loses_nothing(tmp_path, own_rabbit):
    platform = Platform(tmp_path, own_rabbit.amqp_uri)
    try:
        platform.start_recorder()
        platform.start_relay()
        first = sell(platform.source, 100)
        platform.wait_for(first)

        written: list[str] = []
        stop_writing = threading.Event()

        def keep_selling():
            n = 100
            while not stop_writing.is_set():
                written.extend(sell(platform.source, 5, start=n))
                n += 5
                stop_writing.wait(0.02)

        writer = threading.Thread(target=keep_selling)
        writer.start()
        wait_until(lambda: len(written) > 50, what="sales before the outage")
        own_rabbit.stop_app()
        wait_until(lambda: len(written) > 200, what="sales during the outage")
        own_rabbit.start_app()
        wait_until(lambda: len(written) > 400, what="sales after the outage")
        stop_writing.set()
        writer.join()

        everything = set(first + written)
        recorded = wait_until(
            lambda: (
                (platform.restart_recorder_if_it_died() or True)
                and everything <= set(platform.recorded())
                and platform.recorded()
            ),
            timeout=120,
            interval=0.5,
            what="every event recorded",
        )
        assert len(recorded) == len(first) + len(written)
        assert all(doc["applied"] == 1 for doc in recorded.values())
    finally:
        platform.close()
