"""A relay's metrics, read when Prometheus scrapes (a custom collector), and its probes.

* from the relay's own counters: events published, confirmed by the broker, parked, since
  the process started;
* from its store: the lag (events recorded but not yet published: head position minus the
  relay's saved position) and the events parked in all;
* from RabbitMQ: the depth of every queue its events are meant for (messages ready, and
  consumers), by a passive declare on a connection of the scrape's own, which changes
  nothing and costs one round trip a queue.

The scrapes read the store through one store of their own, opened at the first scrape (the
relay's own store belongs to its loop's thread) and kept, one scrape at a time, until a read
fails (then closed, and opened again by the next scrape). The broker is asked on a
connection of the scrape's own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

import pika
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from eventstore.port import EventLog
from messaging.relay import OutboxRelay

log = logging.getLogger(__name__)


def _parked(store: EventLog, consumer: str) -> int:
    try:
        return store.count_parked(consumer)
    except NotImplementedError:
        return 0


def queue_depths(amqp_uri: str, queues: Iterable[str]) -> dict[str, tuple[int, int]]:
    """queue -> (messages ready, consumers), by passive declares; a queue that does not exist
    is left out."""
    parameters = pika.URLParameters(amqp_uri)
    parameters.connection_attempts = 1
    parameters.socket_timeout = 3
    parameters.blocked_connection_timeout = 3
    found: dict[str, tuple[int, int]] = {}
    connection = pika.BlockingConnection(parameters)
    try:
        for queue in sorted(set(queues)):
            channel = connection.channel()
            try:
                frame = channel.queue_declare(queue, passive=True)
            except pika.exceptions.ChannelClosedByBroker:  # 404: not declared yet
                continue
            found[queue] = (frame.method.message_count, frame.method.consumer_count)
            channel.close()
    finally:
        connection.close()
    return found


class RelayCollector(Collector):
    def __init__(self, relay: OutboxRelay, open_log: Callable[[], EventLog]) -> None:
        self.relay = relay
        self.open_log = open_log
        self._lock = threading.Lock()  # one scrape at a time uses the store and the broker
        self._store: EventLog | None = None

    def close(self) -> None:
        with self._lock:
            self._drop_store()

    def _drop_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception:  # noqa: BLE001 - it is being dropped for failing
                pass

    def collect(self):
        relay, service = self.relay, self.relay.service
        for name, value, text in (
            ("prepaid_relay_published_events", relay.published, "events published since start"),
            ("prepaid_relay_confirmed_events", relay.confirmed, "publications confirmed"),
            ("prepaid_relay_parked_since_start_events", relay.parked, "events parked since start"),
        ):
            family = CounterMetricFamily(name, text, labels=["relay"])
            family.add_metric([service], value)
            yield family
        with self._lock:
            yield from self._store_figures(service)
            yield from self._queue_figures(service)

    def _store_figures(self, service: str):
        lag = GaugeMetricFamily(
            "prepaid_relay_lag_events", "events recorded but not yet published", labels=["relay"]
        )
        parked = GaugeMetricFamily(
            "prepaid_relay_parked_events", "events parked and not replayed", labels=["relay"]
        )
        try:
            if self._store is None:
                self._store = self.open_log()
            store = self._store
            head = store.head_position()
            relayed = store.position(self.relay.tracking_name)
            lag.add_metric([service], head - relayed)
            parked.add_metric([service], _parked(store, self.relay.tracking_name))
        except Exception as exc:  # noqa: BLE001 - a scrape reports what it can
            log.warning("relay %s: metrics cannot read the store: %s", service, type(exc).__name__)
            self._drop_store()
            return
        yield lag
        yield parked

    def _queue_figures(self, service: str):
        ready = GaugeMetricFamily(
            "prepaid_queue_messages", "messages waiting in the queue", labels=["queue"]
        )
        consumers = GaugeMetricFamily(
            "prepaid_queue_consumers", "consumers of the queue", labels=["queue"]
        )
        try:
            depths = queue_depths(self.relay.current_uri, [b.queue for b in self.relay.bindings])
        except Exception as exc:  # noqa: BLE001 - a scrape reports what it can
            log.warning("relay %s: metrics cannot read the queues: %s", service, type(exc).__name__)
            return
        for queue, (messages, count) in depths.items():
            ready.add_metric([queue], messages)
            consumers.add_metric([queue], count)
        yield ready
        yield consumers


LIVE_STALE_AFTER = 60.0
"""Seconds without a heartbeat of the relay's loop after which /livez fails."""


def relay_checks(relay: OutboxRelay, stale_after: float = LIVE_STALE_AFTER) -> tuple:
    """(live, ready) for messaging.probes: live while the relay's loop turns (its heartbeat,
    recorded each `relay.heartbeat_every` seconds, connected or waiting to reconnect, is at
    most `stale_after` old; a callback stuck on a store or a socket stops it), ready once it
    is connected with its queues declared, or while it is a standby waiting for the publisher
    lease (waiting is its job: a rolling update waiting for readiness would never pass it)."""

    def live() -> list[str]:
        age = time.monotonic() - relay.heartbeat
        if age <= stale_after:
            return []
        return [f"the relay's loop has recorded no heartbeat for {age:.0f} s"]

    def ready() -> list[str]:
        if relay.standby or relay.ready.is_set():
            return []
        return ["not connected to RabbitMQ"]

    return live, ready
