"""The outbox relay: follows a service's event store and publishes every event to RabbitMQ.

The store is the outbox. The relay reads `read_all` from its saved position, publishes each
event to `<service>.events` (routing key = event type) as a persistent, mandatory message,
and saves a position only once the broker has confirmed every message up to it. A crash at
any point therefore re-publishes from the last saved position: consumers may see an event
twice (they dedupe by event id) but never miss one.

Confirms are windowed: up to `max_in_flight` messages are unconfirmed at once, and the saved
position follows the longest confirmed prefix. A lost connection drops the window and starts
again from the saved position.

No single event may hold the relay (and with it every event behind it): an event it cannot
encode within the policy's bounds, or that the broker refuses `[relay] max_refusals` times in a
row, is parked in the store's `parked_events` table and the relay moves past it
(messaging/relay_refusals.py). A broker that is merely away (connection lost, broker shutting
down) parks nothing: the relay waits for it.

Several broker nodes (a cluster), `amqp://a;amqp://b` as kombu reads it or a list: the relay
connects to the first and moves to the next each time a connection fails or drops. Given a
`lease` (messaging/relay_failover.py), it publishes only while it holds `relay.<service>`,
waiting as a standby until then.

It runs in its own process on pika's SelectConnection, outside eventlet. `stop()` takes no
lock (a signal handler may call it): the loop notices within `heartbeat_every` seconds.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence

import pika
import pika.exceptions
from pika.spec import Basic

from eventstore.port import EventLog
from messaging import outbound, queues
from messaging.relay_failover import PublisherLease, StopFlag, broker_uris
from messaging.relay_refusals import RefusalHandling, _InFlight
from messaging.topology import QueueBinding, QueueDeclarer
from messaging.wire import exchange_name
from policy import ConsumerRules, RelayRules, load_policy

log = logging.getLogger("relay")

FAULT_ENV = "RELAY_FAULT_KILL_BEFORE_SAVE"
"""Fault injection for the crash tests: SIGKILL the relay just before its N-th position save,
after the broker has confirmed the messages (the worst moment: published but not recorded)."""


class OutboxRelay(RefusalHandling):
    def __init__(
        self,
        store: EventLog,
        service: str,
        amqp_uri: str | Sequence[str],
        *,
        bindings: Sequence[QueueBinding] = (),
        batch_size: int = 500,
        max_in_flight: int = 2000,
        poll_interval: float = 0.05,
        save_interval: float = 0.05,
        reconnect_delay: float = 1.0,
        rules: RelayRules | None = None,
        queue_rules: ConsumerRules | None = None,
        lease: PublisherLease | None = None,
    ):
        self.store = store
        self.service = service
        self.exchange = exchange_name(service)
        self.tracking_name = f"relay:{service}"
        self.amqp_uris = broker_uris(amqp_uri)
        self._uri_index = 0
        self.current_uri = self.amqp_uris[0]
        self.parameters = pika.URLParameters(self.current_uri)
        self.lease = lease
        self.bindings = [b for b in bindings if b.source_service == service]
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self.poll_interval = poll_interval
        self.save_interval = save_interval
        self.reconnect_delay = reconnect_delay
        self.rules = rules or load_policy().relay
        self.queue_rules = queue_rules or load_policy().consumers
        self.published = 0
        self.parked = 0
        self.confirmed = 0
        self.saved_position = 0
        self._stopping = StopFlag()
        self._connection: pika.SelectConnection | None = None
        self._channel = None
        self._declarer: QueueDeclarer | None = None
        self._in_flight: deque[_InFlight] = deque()
        self._next_tag = 0
        self._read_position = 0
        self._confirmed_position = 0
        self._last_save = 0.0
        self._pump_scheduled = False
        self._saves_until_fault = int(os.environ.get(FAULT_ENV, "0") or 0)
        self._refusals: dict[str, int] = {}  # event id -> refusals in a row
        self._one_at_a_time_until = 0  # after a refusal that named no message
        self.ready = threading.Event()
        self.heartbeat_every = 1.0
        self.heartbeat = time.monotonic()
        """When the loop last turned (monotonic): a timer on the connection's loop records it
        each `heartbeat_every` seconds, and the reconnect wait as it waits; /livez reads it."""

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def standby(self) -> bool:
        """Waiting for the publisher lease (another relay of the service publishes)."""
        return self.lease is not None and not self.lease.held

    def run(self) -> None:
        """Publishes until `stop()` (with a lease: once it holds it, and until it loses it);
        reconnects after any broker or network failure."""
        lease = self.lease
        if lease is None:
            self._publish()
            return
        try:
            if lease.wait(self._stopping.is_set, self._beat):
                keeper = threading.Thread(
                    target=lease.keep,
                    args=(self._stopping.is_set, self.stop),
                    name=f"relay-lease-{self.service}",
                    daemon=True,
                )
                keeper.start()
                self._publish()
        finally:
            self._stopping.set()  # the keeper's loop ends with the relay's
            lease.release()

    def _publish(self) -> None:
        while not self._stopping.is_set():
            self._beat()
            self._connection = connection = pika.SelectConnection(
                self.parameters,
                on_open_callback=self._on_connection_open,
                on_open_error_callback=self._on_connection_failed,
                on_close_callback=self._on_connection_closed,
            )
            self._tick(connection)
            connection.ioloop.start()
            if not self._stopping.is_set():
                self._wait(self.reconnect_delay)

    def _beat(self) -> None:
        self.heartbeat = time.monotonic()

    def _tick(self, connection: pika.SelectConnection) -> None:
        """Beats now and every `heartbeat_every` seconds while `connection`'s loop turns, and
        closes the connection once a stop was asked for."""
        self._beat()
        current = connection is self._connection
        if current and self._stopping.is_set():
            connection.ioloop.call_later(0, self._close)  # from inside the running loop
        elif current:
            connection.ioloop.call_later(self.heartbeat_every, lambda: self._tick(connection))

    def _wait(self, seconds: float) -> None:
        """Waits `seconds` (less if stopped), beating as it waits."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._beat()
            if self._stopping.wait(min(left, self.heartbeat_every)):
                return
        self._beat()

    def stop(self) -> None:
        """Asks the relay to stop; safe in a signal handler (no lock, no I/O): the loop's next
        tick closes the connection."""
        self._stopping.set()

    def _close(self) -> None:
        if self._connection and self._connection.is_open:
            self._connection.close()
        elif self._connection:
            self._connection.ioloop.stop()

    def _next_broker(self) -> None:
        if len(self.amqp_uris) > 1 and not self._stopping.is_set():
            self._uri_index = (self._uri_index + 1) % len(self.amqp_uris)
            self.current_uri = self.amqp_uris[self._uri_index]
            self.parameters = pika.URLParameters(self.current_uri)

    def _on_connection_failed(self, connection, error) -> None:
        log.warning("relay %s: cannot connect to RabbitMQ: %s", self.service, error)
        self._next_broker()
        connection.ioloop.stop()

    def _on_connection_closed(self, connection, reason) -> None:
        if not self._stopping.is_set():
            log.warning("relay %s: connection closed: %s", self.service, reason)
            if isinstance(reason, pika.exceptions.ConnectionClosedByBroker):
                self._on_broker_refusal(reason.reply_code, reason.reply_text)
        self._channel = None
        self.ready.clear()
        self._next_broker()
        connection.ioloop.stop()

    def _on_connection_open(self, connection) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_channel_open(self, channel) -> None:
        self._channel = channel
        self._declarer = declarer = QueueDeclarer(channel, self.exchange, self.queue_rules)
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_returned)
        channel.exchange_declare(
            self.exchange,
            exchange_type="topic",
            durable=True,
            callback=lambda _frame: declarer.run(
                list(self.bindings),
                lambda: channel.confirm_delivery(
                    ack_nack_callback=self._on_confirmation, callback=lambda _f: self._start()
                ),
            ),
        )

    def _on_channel_closed(self, _channel, reason) -> None:
        if self._stopping.is_set():
            return
        declaring = self._declarer.current if self._declarer else None
        if declaring and getattr(reason, "reply_code", None) == 406:
            log.error(
                "relay %s: %s", self.service, queues.inequivalent_hint(declaring, self.queue_rules)
            )
        elif isinstance(reason, pika.exceptions.ChannelClosedByBroker):
            self._on_broker_refusal(reason.reply_code, reason.reply_text)
        log.warning(
            "relay %s: channel closed: %s; restarting from %s",
            self.service,
            reason,
            self.saved_position,
        )
        self._channel = None
        self.ready.clear()
        connection = self._connection
        if connection is not None and connection.is_open and not self._stopping.is_set():
            connection.ioloop.call_later(
                self.reconnect_delay,
                lambda: connection.channel(on_open_callback=self._on_channel_open),
            )

    def _start(self) -> None:
        # Every (re)start publishes again from the last saved position.
        self._in_flight.clear()
        self._next_tag = 0
        self._pump_scheduled = False  # a pump scheduled on a dead connection's loop never runs
        self.saved_position = self.store.position(self.tracking_name)
        self._read_position = self._confirmed_position = self.saved_position
        self.ready.set()
        log.info("relay %s: publishing from position %s", self.service, self.saved_position)
        self._schedule_pump(0)

    # --- publishing ----------------------------------------------------------------------------
    def _schedule_pump(self, delay: float) -> None:
        # Called only from the connection's own callbacks, so there is one.
        if not self._pump_scheduled and self._connection is not None:
            self._pump_scheduled = True
            self._connection.ioloop.call_later(delay, self._pump)

    def _pump(self) -> None:
        self._pump_scheduled = False
        if self._channel is None or not self._channel.is_open or self._stopping.is_set():
            return
        window = 1 if self._read_position < self._one_at_a_time_until else self.max_in_flight
        room = window - len(self._in_flight)
        if room <= 0:
            return  # confirmations will call the pump again
        batch = self.store.read_all(self._read_position, min(room, self.batch_size))
        assert self._connection is not None  # the pump runs on this connection's own loop
        frame_max = self._connection.params.frame_max
        for event in batch:
            entry = _InFlight(event.position, event.id, event.type)
            try:
                body, properties = outbound.encode(self.service, event, self.rules, frame_max)
            except outbound.Unencodable as exc:
                entry.acked, entry.refusal, entry.final = True, str(exc), True
            else:
                self._channel.basic_publish(
                    self.exchange,
                    routing_key=event.type,
                    body=body,
                    properties=properties,
                    mandatory=True,
                )
                self._next_tag += 1
                entry.tag = self._next_tag
                self.published += 1
            self._in_flight.append(entry)
            self._read_position = event.position
        if not self._drain():
            return
        if len(batch) == min(room, self.batch_size):
            self._schedule_pump(0)
        else:
            if not batch:
                self._maybe_save(force=True)
            self._schedule_pump(self.poll_interval)

    def _on_confirmation(self, frame) -> None:
        method = frame.method
        nacked = isinstance(method, Basic.Nack)
        for entry in self._in_flight:
            if entry.tag is None:
                continue
            if entry.tag > method.delivery_tag:
                break
            if entry.tag == method.delivery_tag or method.multiple:
                entry.acked = True
                if nacked:
                    entry.refusal = "nacked by the broker"
        if self._drain():
            self._schedule_pump(0)

    def _drain(self) -> bool:
        """Moves past the settled prefix of the window: confirmed events, and refused ones
        that are due to be parked. False when the window was abandoned, to retry a refusal."""
        while self._in_flight and self._in_flight[0].acked:
            entry = self._in_flight[0]
            if entry.refusal is not None:
                if not entry.final and self._count_refusal(entry) < self.rules.max_refusals:
                    self._maybe_save(force=True)
                    self._abandon_window()
                    return False
                if not self._park(entry):
                    self._abandon_window()
                    return False
            else:
                self._refusals.pop(entry.event_id, None)
                self._confirmed_position = entry.position
                self.confirmed += 1
            self._in_flight.popleft()
        self._maybe_save(force=not self._in_flight)
        return True

    def _maybe_save(self, force: bool = False) -> None:
        if self._confirmed_position <= self.saved_position:
            return
        now = time.monotonic()
        if not force and now - self._last_save < self.save_interval:
            return
        if self._saves_until_fault:
            self._saves_until_fault -= 1
            if self._saves_until_fault == 0:
                os.kill(os.getpid(), signal.SIGKILL)
        self.store.save_position(self.tracking_name, self._confirmed_position)
        self.saved_position = self._confirmed_position
        self._last_save = now
