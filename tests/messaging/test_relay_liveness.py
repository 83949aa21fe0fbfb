"""The relay's /livez follows its loop: a heartbeat it records each turn, also while it waits
to reconnect, older than the threshold fails the probe."""

from __future__ import annotations

import threading
import time

from eventstore.sqlite import SqliteEventStore
from messaging.relay import OutboxRelay
from messaging.relay_metrics import relay_checks


def _wait_for(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_live_while_the_loop_turns_failing_once_it_is_stuck(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db")
    # No broker answers here: the loop connects, fails and waits to reconnect, over and over.
    relay = OutboxRelay(store, "escrow", "amqp://guest:guest@127.0.0.1:1/", reconnect_delay=0.2)
    relay.heartbeat_every = 0.05
    live, _ready = relay_checks(relay, stale_after=0.6)
    stuck = threading.Event()
    release = threading.Event()
    failed = relay._on_connection_failed

    def connection_failed(connection, error):
        if stuck.is_set():
            release.wait(30)  # a callback that never returns: the loop turns no more
        failed(connection, error)

    relay._on_connection_failed = connection_failed
    loop = threading.Thread(target=relay.run, daemon=True)
    loop.start()
    try:
        time.sleep(1.0)  # several reconnect waits, each longer than none of the threshold
        assert live() == [], "live while it waits to reconnect"
        stuck.set()
        assert _wait_for(lambda: live() != [], timeout=5), "fails once the loop is stuck"
        assert "heartbeat" in live()[0]
        assert loop.is_alive(), "the thread is alive: a thread check would have said live"
    finally:
        release.set()
        relay.stop()
        loop.join(timeout=5)
        store.close()


def test_scrapes_reuse_one_store_reopened_only_after_a_failure(tmp_path):
    from messaging.relay_metrics import RelayCollector

    opened: list[SqliteEventStore] = []

    def open_log():
        opened.append(SqliteEventStore(tmp_path / "escrow.db"))
        return opened[-1]

    relay = OutboxRelay(open_log(), "escrow", "amqp://guest:guest@127.0.0.1:1/")
    collector = RelayCollector(relay, open_log)
    names = set()
    for _ in range(5):
        names |= {family.name for family in collector.collect()}
    assert "prepaid_relay_lag_events" in names
    assert len(opened) == 2, "the relay's own store and one for every scrape"
    opened[1].close()  # the scrapes' store breaks: the next scrape opens a new one
    assert "prepaid_relay_lag_events" not in {f.name for f in collector.collect()}
    assert "prepaid_relay_lag_events" in {f.name for f in collector.collect()}
    assert len(opened) == 3
    collector.close()
    for store in opened:
        store.close()
