"""The outbox relay: follows a service's event store and publishes every event to RabbitMQ.

The store is the outbox. The relay reads `read_all` from its saved position, publishes each
event to `<service>.events` (routing key = event type) as a persistent, mandatory message,
and saves a position only once the broker has confirmed every message up to it. A crash at
any point therefore re-publishes from the last saved position: consumers may see an event
twice (they dedupe by event id) but never miss one.

Confirms are windowed: up to `max_in_flight` messages are unconfirmed at once, and the saved
position follows the longest confirmed prefix. A nack, a returned (unroutable) message or a
lost connection drops the window and starts again from the saved position.

It runs in its own process on pika's SelectConnection, outside eventlet.
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
from pika.spec import Basic

from eventstore.port import EventStore
from messaging.topology import QueueBinding
from messaging.wire import (
    CONTENT_TYPE,
    IntegrationEvent,
    encode_body,
    exchange_name,
    message_headers,
)

log = logging.getLogger("relay")

FAULT_ENV = "RELAY_FAULT_KILL_BEFORE_SAVE"
"""Fault injection for the crash tests: SIGKILL the relay just before its N-th position save,
after the broker has confirmed the messages (the worst moment: published but not recorded)."""


class OutboxRelay:
    def __init__(
        self,
        store: EventStore,
        service: str,
        amqp_uri: str,
        *,
        bindings: Sequence[QueueBinding] = (),
        batch_size: int = 500,
        max_in_flight: int = 2000,
        poll_interval: float = 0.05,
        save_interval: float = 0.05,
        reconnect_delay: float = 1.0,
    ):
        self.store = store
        self.service = service
        self.exchange = exchange_name(service)
        self.tracking_name = f"relay:{service}"
        self.parameters = pika.URLParameters(amqp_uri)
        self.bindings = [b for b in bindings if b.source_service == service]
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self.poll_interval = poll_interval
        self.save_interval = save_interval
        self.reconnect_delay = reconnect_delay
        self.published = 0
        self.confirmed = 0
        self.saved_position = 0
        self._stopping = threading.Event()
        self._connection: pika.SelectConnection | None = None
        self._channel = None
        self._in_flight: deque[list] = deque()  # [delivery_tag, position, acked]
        self._next_tag = 0
        self._read_position = 0
        self._confirmed_position = 0
        self._last_save = 0.0
        self._pump_scheduled = False
        self._saves_until_fault = int(os.environ.get(FAULT_ENV, "0") or 0)
        self.ready = threading.Event()

    # --- lifecycle ---------------------------------------------------------------------------
    def run(self) -> None:
        """Publishes until `stop()`; reconnects after any broker or network failure."""
        while not self._stopping.is_set():
            self._connection = pika.SelectConnection(
                self.parameters,
                on_open_callback=self._on_connection_open,
                on_open_error_callback=self._on_connection_failed,
                on_close_callback=self._on_connection_closed,
            )
            self._connection.ioloop.start()
            if not self._stopping.is_set():
                self._stopping.wait(self.reconnect_delay)

    def stop(self) -> None:
        self._stopping.set()
        connection = self._connection
        if connection is not None:
            connection.ioloop.add_callback_threadsafe(self._close)

    def _close(self) -> None:
        if self._connection and self._connection.is_open:
            self._connection.close()
        elif self._connection:
            self._connection.ioloop.stop()

    def _on_connection_failed(self, _connection, error) -> None:
        log.warning("relay %s: cannot connect to RabbitMQ: %s", self.service, error)
        self._connection.ioloop.stop()

    def _on_connection_closed(self, _connection, reason) -> None:
        if not self._stopping.is_set():
            log.warning("relay %s: connection closed: %s", self.service, reason)
        self._channel = None
        self.ready.clear()
        self._connection.ioloop.stop()

    def _on_connection_open(self, connection) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_channel_open(self, channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_returned)
        channel.exchange_declare(
            self.exchange, exchange_type="topic", durable=True,
            callback=lambda _frame: self._declare_queues(list(self.bindings)),
        )

    def _declare_queues(self, remaining: list[QueueBinding]) -> None:
        if not remaining:
            self._channel.confirm_delivery(
                ack_nack_callback=self._on_confirmation, callback=lambda _f: self._start()
            )
            return
        binding, rest = remaining[0], remaining[1:]
        self._channel.queue_declare(
            binding.queue, durable=True,
            callback=lambda _f: self._channel.queue_bind(
                binding.queue, self.exchange, routing_key=binding.routing_key,
                callback=lambda _f2: self._declare_queues(rest),
            ),
        )

    def _on_channel_closed(self, _channel, reason) -> None:
        if self._stopping.is_set():
            return
        log.warning("relay %s: channel closed: %s; restarting from %s",
                    self.service, reason, self.saved_position)
        self._channel = None
        self.ready.clear()
        if self._connection.is_open and not self._stopping.is_set():
            self._connection.ioloop.call_later(
                self.reconnect_delay, lambda: self._connection.channel(
                    on_open_callback=self._on_channel_open)
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
        if not self._pump_scheduled:
            self._pump_scheduled = True
            self._connection.ioloop.call_later(delay, self._pump)

    def _pump(self) -> None:
        self._pump_scheduled = False
        if self._channel is None or not self._channel.is_open or self._stopping.is_set():
            return
        room = self.max_in_flight - len(self._in_flight)
        if room <= 0:
            return  # confirmations will call the pump again
        batch = self.store.read_all(self._read_position, min(room, self.batch_size))
        for event in batch:
            message = IntegrationEvent.from_recorded(self.service, event)
            self._channel.basic_publish(
                self.exchange,
                routing_key=event.type,
                body=encode_body(message),
                properties=pika.BasicProperties(
                    content_type=CONTENT_TYPE,
                    content_encoding="utf-8",
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=event.id,
                    type=event.type,
                    timestamp=int(event.recorded_at.timestamp()),
                    headers=message_headers(message),
                ),
                mandatory=True,
            )
            self._next_tag += 1
            self._in_flight.append([self._next_tag, event.position, False])
            self._read_position = event.position
        self.published += len(batch)
        if len(batch) == min(room, self.batch_size):
            self._schedule_pump(0)
        else:
            if not batch:
                self._maybe_save(force=True)
            self._schedule_pump(self.poll_interval)

    def _on_confirmation(self, frame) -> None:
        method = frame.method
        if isinstance(method, Basic.Nack):
            log.error("relay %s: broker nacked delivery %s", self.service, method.delivery_tag)
            self._abandon_window()
            return
        for entry in self._in_flight:
            if entry[0] > method.delivery_tag:
                break
            if entry[0] == method.delivery_tag or method.multiple:
                entry[2] = True
        while self._in_flight and self._in_flight[0][2]:
            _tag, position, _ = self._in_flight.popleft()
            self._confirmed_position = position
            self.confirmed += 1
        self._maybe_save(force=not self._in_flight)
        self._schedule_pump(0)

    def _on_returned(self, _channel, method, properties, _body) -> None:
        log.error(
            "relay %s: event %s (%s) was unroutable: %s; no queue is bound to it",
            self.service, properties.message_id, method.routing_key, method.reply_text,
        )
        self._abandon_window()

    def _abandon_window(self) -> None:
        # Close the channel: everything unconfirmed is published again from the saved position.
        if self._channel is not None and self._channel.is_open:
            self._channel.close()

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
