"""Which durable queues must exist before a relay publishes.

RabbitMQ drops a message that no queue is bound to. The relay therefore declares every queue
its events are meant for before it publishes the first one, exactly as the consuming nameko
handler would declare it, and publishes with `mandatory=True` so that a missing binding comes
back as an error instead of a silent loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from messaging.wire import nameko_queue_name


@dataclass(frozen=True)
class QueueBinding:
    queue: str
    source_service: str
    routing_key: str
    """An event type, or `#` for a queue that takes every event of the source (the ledger)."""


class ServiceClass(Protocol):
    """A nameko service class: its `name` is part of its handlers' queue names."""

    name: str


def subscriptions_of(service_cls: ServiceClass) -> list[QueueBinding]:
    """The queues of every nameko `@event_handler` on a service class."""
    from nameko.events import SERVICE_POOL, EventHandler

    found = []
    for attr in dir(service_cls):
        method = getattr(service_cls, attr, None)
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, EventHandler) and entrypoint.handler_type == SERVICE_POOL:
                found.append(
                    QueueBinding(
                        queue=nameko_queue_name(
                            entrypoint.source_service,
                            entrypoint.event_type,
                            service_cls.name,
                            attr,
                        ),
                        source_service=entrypoint.source_service,
                        routing_key=entrypoint.event_type,
                    )
                )
    return found


def parse_binding(text: str) -> QueueBinding:
    """`queue=source:routing_key`, as given on the relay's command line."""
    queue, _, target = text.partition("=")
    source, _, key = target.partition(":")
    if not (queue and source and key):
        raise ValueError(f"expected queue=source:routing_key, got {text!r}")
    return QueueBinding(queue, source, key)


def format_binding(binding: QueueBinding) -> str:
    return f"{binding.queue}={binding.source_service}:{binding.routing_key}"
