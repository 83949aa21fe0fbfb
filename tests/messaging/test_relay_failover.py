"""The relay's own fail-over (messaging/relay.py, messaging/relay_failover.py): it skips a
broker node that is down for the next in its list, and with a publisher lease one relay of a
service publishes while another waits as a standby (live and ready), taking over once the
holder stops. In-process relays; tests/platform/test_relay_lease.py runs the command."""

from __future__ import annotations

import threading

import pytest

from devenv.ports import free_port
from eventstore.sqlite import SqliteEventStore
from messaging.relay import OutboxRelay
from messaging.relay_failover import PublisherLease, broker_uris
from messaging.relay_metrics import relay_checks
from messaging.topology import QueueBinding
from services.job_lock import FileJobLocks
from tests.support.harness import wait_until
from tests.support.sold_events import append_sales, drain

pytestmark = [pytest.mark.broker]

QUEUE = "failover-test.sold"
BINDING = QueueBinding(QUEUE, "shop", "#")


def start(relay: OutboxRelay) -> threading.Thread:
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    return thread


def test_broker_uris_reads_kombus_list():
    assert broker_uris("amqp://a;amqp://b; ") == ["amqp://a", "amqp://b"]
    assert broker_uris(["amqp://a"]) == ["amqp://a"]
    with pytest.raises(ValueError):
        broker_uris(";")


def test_a_node_that_is_down_is_skipped_for_the_next(tmp_path, amqp_uri):
    store = SqliteEventStore(tmp_path / "shop.db")
    dead = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    relay = OutboxRelay(
        store, "shop", f"{dead};{amqp_uri}", bindings=[BINDING], reconnect_delay=0.1
    )
    ids = append_sales(store, 20, 0)
    thread = start(relay)
    received: list[str] = []
    try:
        wait_until(relay.ready.is_set, timeout=30, what="connected, queue declared")
        wait_until(
            lambda: len(drain(amqp_uri, QUEUE, received)) >= 20, timeout=30, what="published"
        )
        assert sorted(received) == sorted(ids)
        assert relay.current_uri == amqp_uri
    finally:
        relay.stop()
        thread.join(timeout=10)
        store.close()
    assert not thread.is_alive(), "stop() ends the relay"


def test_one_publishes_the_standby_waits_ready_and_takes_over(tmp_path, amqp_uri):
    store = SqliteEventStore(tmp_path / "shop.db")
    locks = tmp_path / "shop.db.jobs"

    def relay() -> OutboxRelay:
        lease = PublisherLease(FileJobLocks(locks), "shop", ttl=3)
        return OutboxRelay(store, "shop", amqp_uri, bindings=[BINDING], lease=lease)

    holder, standby = relay(), relay()
    holder_thread = start(holder)
    wait_until(holder.ready.is_set, timeout=30, what="the lease taken, queue declared")
    standby_thread = start(standby)
    received: list[str] = []
    try:
        first = append_sales(store, 50, 0)
        wait_until(
            lambda: len(drain(amqp_uri, QUEUE, received)) >= 50, timeout=30, what="published"
        )
        assert standby.standby and standby_thread.is_alive()
        live, ready = relay_checks(standby)
        assert live() == [] and ready() == [], "a standby is live and ready"
        assert not standby.ready.is_set(), "it never connected: it only waits"

        holder.stop()
        holder_thread.join(timeout=10)
        assert not holder_thread.is_alive()
        later = append_sales(store, 50, 50)
        wait_until(
            lambda: set(drain(amqp_uri, QUEUE, received)) >= set(first + later),
            timeout=30,
            what="the standby publishing after the holder stopped",
        )
        assert not standby.standby
        drain(amqp_uri, QUEUE, received)
        assert sorted(received) == sorted(first + later), "each event once"
    finally:
        holder.stop()
        standby.stop()
        holder_thread.join(timeout=10)
        standby_thread.join(timeout=10)
        store.close()


class UnreachableLeaseDatabase:
    """Locks whose database went away after the lease was taken: every renewal raises."""

    def acquire(self, job: str) -> bool:
        return True

    def renew(self, job: str) -> bool:
        raise ConnectionError("lease database unreachable")

    def release(self, job: str, hold_for: float = 0.0) -> None:
        pass

    def close(self) -> None:
        pass


def test_an_unrenewable_lease_is_given_up_before_it_expires():
    """The holder stops publishing at RENEW_MARGIN of the lease's length, not at the first
    ttl/3 beat after it (which, with ttl/3 beats, falls on the expiry itself)."""
    import time

    from messaging.relay_failover import RENEW_MARGIN

    ttl = 3.0
    lease = PublisherLease(UnreachableLeaseDatabase(), "shop", ttl)
    began = time.monotonic()
    stopped_at: list[float] = []
    lease.keep(lambda: False, lambda: stopped_at.append(time.monotonic() - began))
    assert lease.lost and stopped_at, "publishing stopped"
    assert ttl * RENEW_MARGIN <= stopped_at[0] < ttl * 0.95, stopped_at
