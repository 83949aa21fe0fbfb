"""A toy service's `shop.Sold.v1` events for the relay's lease and fail-over tests: appended to
a store, then read back off the queue the relay published them to, by message id."""

from __future__ import annotations

import pika

from eventstore import NewEvent
from eventstore.port import EventStore


def append_sales(store: EventStore, count: int, start: int) -> list[str]:
    """Appends `count` sales, each on its own stream; their event ids, in order."""
    ids = []
    for i in range(start, start + count):
        event = NewEvent("shop.Sold.v1", {"n": i})
        store.append(f"sale-{i}", [event], 0)
        ids.append(event.id)
    return ids


def drain(amqp_uri: str, queue: str, into: list[str]) -> list[str]:
    """Every message now in `queue`, by message id (the event id), acked, added to `into`."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        while True:
            method, properties, _ = channel.basic_get(queue)
            if method is None:
                return into
            into.append(properties.message_id)
            channel.basic_ack(method.delivery_tag)
    finally:
        connection.close()
