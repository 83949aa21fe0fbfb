"""Parked events of a service's outbox relay: listed, re-published or dropped.

The operators' command is `python -m platformrun.park`, which gives these the queues of the
platform's handlers. `replay` publishes each event again exactly as the relay would (same
bounds, persistent, mandatory, with the broker's confirm) and removes it from the parked table
only once the broker has confirmed it; an event refused again stays parked, with the reason.
`drop` removes the record and publishes nothing: the event stays in the store, and its
consumers never receive it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pika
import pika.exceptions

from eventstore.port import EventLog
from eventstore.records import ParkedEvent
from messaging import outbound
from messaging.topology import QueueBinding
from messaging.wire import exchange_name
from policy import RelayRules


def relay_name(service: str) -> str:
    return f"relay:{service}"


def all_parked(store: EventLog, service: str) -> list[ParkedEvent]:
    found, after = [], 0
    while page := store.parked(relay_name(service), after):
        found += page
        after = page[-1].position
    return found


def chosen(
    store: EventLog, service: str, positions: list[int], every: bool
) -> tuple[list[ParkedEvent], list[int]]:
    """The parked events at `positions` (or all of them), and the positions not parked."""
    parked = {event.position: event for event in all_parked(store, service)}
    if every:
        return list(parked.values()), []
    return (
        [parked[p] for p in positions if p in parked],
        [p for p in positions if p not in parked],
    )


class Republisher:
    """One blocking connection with publisher confirms; declares what the relay declares."""

    def __init__(
        self, amqp_uri: str, service: str, bindings: list[QueueBinding], rules: RelayRules
    ):
        self.service, self.rules = service, rules
        self.exchange = exchange_name(service)
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
        for binding in bindings:
            self.channel.queue_declare(binding.queue, durable=True)
            self.channel.queue_bind(binding.queue, self.exchange, routing_key=binding.routing_key)
        self.channel.confirm_delivery()
        self.broken = False

    def publish(self, store: EventLog, parked: ParkedEvent) -> str | None:
        """None once the broker confirmed it, else why not."""
        events = store.read_all(parked.position - 1, 1)
        if not events or events[0].id != parked.event_id:
            return "the event is not at that position in the store"
        try:
            body, properties = outbound.encode(
                self.service, events[0], self.rules, self.connection._impl.params.frame_max
            )
            self.channel.basic_publish(
                self.exchange, events[0].type, body, properties, mandatory=True
            )
        except outbound.Unencodable as exc:
            return str(exc)
        except pika.exceptions.UnroutableError:
            return "unroutable: no queue is bound to it"
        except pika.exceptions.NackError:
            return "nacked by the broker"
        except (
            pika.exceptions.ChannelClosedByBroker,
            pika.exceptions.ConnectionClosedByBroker,
        ) as exc:
            self.broken = True  # the channel is gone: the remaining events are not tried
            return f"refused by the broker: {exc.reply_code} {exc.reply_text}"
        return None

    def close(self) -> None:
        if not self.connection.is_closed:
            self.connection.close()


def replay(
    store: EventLog, service: str, events: list[ParkedEvent], publisher: Republisher
) -> Iterator[tuple[ParkedEvent, str | None]]:
    """Re-publishes each event; yields it with None once the broker confirmed it and it is
    unparked, else with the reason it stays parked."""
    for event in events:
        if publisher.broken:
            yield event, "not tried"
            continue
        reason = publisher.publish(store, event)
        if reason is None:
            store.unpark(relay_name(service), event.position)
        yield event, reason
