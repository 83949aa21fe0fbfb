"""Messages a consumer parked (messaging.consumer), or the broker dead-lettered, in a
parking queue `<queue>.parked`: counted, listed, replayed or dropped.

`replay` publishes each chosen message back to its queue (the default exchange, routing key =
the queue's name, persistent, mandatory, with the broker's confirm) and only then acks it off
the parking queue: a crash in between leaves it in both, and the consumer, idempotent by event
id, applies it once. `drop` acks it off and publishes nothing. Messages not chosen go back to
the parking queue unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pika
import pika.exceptions

from messaging import queues
from policy import ConsumerRules


@dataclass(frozen=True)
class ParkedMessage:
    queue: str
    """The queue it came from (and goes back to on replay)."""
    event_id: str
    event_type: str
    error_type: str
    error: str
    failures: int | str
    parked_at: str
    """Empty for a message the broker dead-lettered (no error is known then)."""


def parked_depths(amqp_uri: str, queue_names: Iterable[str]) -> dict[str, int]:
    """The number of messages in the parking queue of each of `queue_names` (0 for one not
    declared yet): what /healthz reports and a metrics exporter can read."""
    import amqp.exceptions
    from kombu import Connection  # kombu, not pika: this also runs inside nameko (eventlet)
    from kombu.exceptions import OperationalError

    depths = {}
    with Connection(amqp_uri) as connection:
        for queue in queue_names:
            channel = connection.channel()
            try:
                _, count, _ = channel.queue_declare(queues.parked_queue_name(queue), passive=True)
                depths[queue] = count
            except (amqp.exceptions.NotFound, OperationalError):
                depths[queue] = 0
            finally:
                if channel.is_open:
                    channel.close()
    return depths


def describe(queue: str, properties, body: bytes) -> ParkedMessage:
    headers = properties.headers or {}
    try:
        payload = json.loads(body)
    except ValueError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    return ParkedMessage(
        queue=queue,
        event_id=str(headers.get("event_id") or payload.get("event_id", "")),
        event_type=str(headers.get("event_type") or payload.get("type", "")),
        error_type=str(headers.get(queues.PARKED_ERROR_TYPE, "")),
        error=str(
            headers.get(queues.PARKED_ERROR, "")
            or "dead-lettered by the broker past the delivery limit"
        ),
        failures=headers.get(queues.PARKED_FAILURES, headers.get(queues.DELIVERY_COUNT, "")),
        parked_at=str(headers.get(queues.PARKED_AT, "")),
    )


class ParkingQueue:
    """One blocking connection to one queue's parking queue, with publisher confirms."""

    def __init__(self, amqp_uri: str, queue: str, rules: ConsumerRules):
        self.queue, self.parked = queue, queues.parked_queue_name(queue)
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        try:
            self.channel.queue_declare(
                self.parked, durable=True, arguments=queues.parked_queue_arguments(rules)
            )
            self.channel.queue_declare(
                queue, durable=True, arguments=queues.queue_arguments(queue, rules)
            )
        except pika.exceptions.ChannelClosedByBroker as exc:
            self.close()
            if exc.reply_code == 406:
                raise RuntimeError(queues.inequivalent_hint(queue, rules)) from None
            raise
        self.channel.confirm_delivery()

    def _taken(self) -> Iterator[tuple[int, object, bytes]]:
        """Every message now in the parking queue, each held (unacked) until settled."""
        count = self.channel.queue_declare(self.parked, passive=True).method.message_count
        for _ in range(count):
            method, properties, body = self.channel.basic_get(self.parked, auto_ack=False)
            if method is None:
                return
            yield method.delivery_tag, properties, body

    def list(self) -> list[ParkedMessage]:
        # Left unacked: closing the connection returns them to the parking queue. (Not a
        # nack: RabbitMQ 4 counts a nack's return towards a quorum queue's delivery limit.)
        return [describe(self.queue, properties, body) for _, properties, body in self._taken()]

    def settle(
        self, event_ids: set[str], every: bool, replay: bool
    ) -> Iterator[tuple[ParkedMessage, str | None]]:
        """Replays (or drops) the chosen messages; yields each with None once done, else why
        it stays parked. The others, left unacked, go back to the parking queue when the
        connection closes."""
        for tag, properties, body in self._taken():
            message = describe(self.queue, properties, body)
            if not (every or message.event_id in event_ids):
                continue
            reason = self._republish(properties, body) if replay else None
            if reason is None:
                self.channel.basic_ack(tag)
            yield message, reason

    def _republish(self, properties, body: bytes) -> str | None:
        try:
            self.channel.basic_publish(
                "",
                self.queue,
                body,
                pika.BasicProperties(
                    content_type=properties.content_type,
                    content_encoding=properties.content_encoding,
                    headers=queues.replay_headers(properties.headers),
                    message_id=properties.message_id,
                    correlation_id=properties.correlation_id,
                    delivery_mode=pika.DeliveryMode.Persistent,
                ),
                mandatory=True,
            )
        except pika.exceptions.UnroutableError:
            return "unroutable: the queue is gone"
        except pika.exceptions.NackError:
            return "nacked by the broker"
        return None

    def close(self) -> None:
        if not self.connection.is_closed:
            self.connection.close()
