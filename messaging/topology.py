"""Which durable queues must exist before a relay publishes.

RabbitMQ drops a message that no queue is bound to. The relay therefore declares every queue
its events are meant for before it publishes the first one, exactly as the consuming nameko
handler would declare it, and publishes with `mandatory=True` so that a missing binding comes
back as an error instead of a silent loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from messaging import queues
from messaging.wire import nameko_queue_name
from policy import ConsumerRules


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


class QueueDeclarer:
    """Declares, on a pika async channel and one after another, each binding's parking queue,
    its queue with the policy's arguments (as its consumer declares it, else 406) and its
    binding to `exchange`; then calls `done`. `current` names the queue being declared, so
    that a refusal can say which."""

    def __init__(self, channel, exchange: str, rules: ConsumerRules):
        self.channel, self.exchange, self.rules = channel, exchange, rules
        self.current: str | None = None

    def run(self, remaining: list[QueueBinding], done: Callable[[], None]) -> None:
        if not remaining:
            self.current = None
            done()
            return
        binding, rest = remaining[0], remaining[1:]
        self.current = binding.queue
        self.channel.queue_declare(
            queues.parked_queue_name(binding.queue),
            durable=True,
            arguments=queues.parked_queue_arguments(self.rules),
            callback=lambda _f: self.channel.queue_declare(
                binding.queue,
                durable=True,
                arguments=queues.queue_arguments(binding.queue, self.rules),
                callback=lambda _f2: self.channel.queue_bind(
                    binding.queue,
                    self.exchange,
                    routing_key=binding.routing_key,
                    callback=lambda _f3: self.run(rest, done),
                ),
            ),
        )
