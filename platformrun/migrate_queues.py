"""`python -m platformrun.migrate_queues --amqp-uri URI`: the platform's queues brought to the
policy's arguments on a broker that has them otherwise (`make run` keeps var/rabbitmq, whose
queues predate quorum queues: the services would refuse to start on them, 406).

For each platform queue (every handler's and the ledger's) the broker itself says whether the
arguments differ: a declare with the policy's arguments is refused. Such a queue's messages
are moved, each confirmed before it is acked, to `<queue>.migrating`; the queue is deleted and
declared again with the policy's arguments; the messages are moved back and the temporary
queue deleted. A run interrupted half-way is finished by the next one (a `.migrating` queue
left over is emptied into its queue). Run it with the platform's services and relays stopped:
`make run`'s launcher does, before it starts them. The bindings come back with the relays and
services, which declare them at start.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import pika
import pika.exceptions

from messaging import queues
from policy import ConsumerRules, load_policy

log = logging.getLogger("platform.queues")

MIGRATING_SUFFIX = ".migrating"


def _declares(connection, queue: str, arguments: dict, passive: bool = False) -> bool:
    """True if the broker accepts the declare (on a channel of its own: a refusal closes it)."""
    channel = connection.channel()
    try:
        channel.queue_declare(queue, durable=not passive, passive=passive, arguments=arguments)
        return True
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code in (404, 406):
            return False
        raise
    finally:
        if channel.is_open:
            channel.close()


def _move(connection, source: str, target: str) -> int:
    channel = connection.channel()
    channel.confirm_delivery()
    moved = 0
    try:
        while True:
            method, properties, body = channel.basic_get(source, auto_ack=False)
            if method is None:
                return moved
            channel.basic_publish("", target, body, properties, mandatory=True)
            channel.basic_ack(method.delivery_tag)  # only once the broker confirmed the copy
            moved += 1
    finally:
        if channel.is_open:
            channel.close()


def migrate(amqp_uri: str, names: list[str], rules: ConsumerRules) -> list[str]:
    """Brings each queue of `names` to the policy's arguments; returns those it migrated."""
    migrated = []
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        for name in names:
            wanted = queues.queue_arguments(name, rules)
            temporary = name + MIGRATING_SUFFIX
            parked_arguments = queues.parked_queue_arguments(rules)
            if not _declares(connection, queues.parked_queue_name(name), parked_arguments):
                raise RuntimeError(queues.inequivalent_hint(queues.parked_queue_name(name), rules))
            left_over = _declares(connection, temporary, {}, passive=True)
            if _declares(connection, name, wanted) and not left_over:
                continue
            if not left_over:
                if not _declares(connection, temporary, parked_arguments):
                    raise RuntimeError(queues.inequivalent_hint(temporary, rules))
            channel = connection.channel()
            if not _declares(connection, name, wanted):
                moved = _move(connection, name, temporary)
                channel.queue_delete(name)
                log.warning("queue %s: %d message(s) moved aside to re-declare it", name, moved)
                if not _declares(connection, name, wanted):
                    raise RuntimeError(queues.inequivalent_hint(name, rules))
            moved = _move(connection, temporary, name)
            channel.queue_delete(temporary)
            channel.close()
            log.warning("queue %s now has the policy's arguments (%d message(s) kept)", name, moved)
            migrated.append(name)
    finally:
        connection.close()
    return migrated


def main(argv: list[str] | None = None) -> int:
    from platformrun.registry import platform_queues

    parser = argparse.ArgumentParser(description="Bring the platform's queues to the policy")
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI"))
    args = parser.parse_args(argv)
    if not args.amqp_uri:
        parser.error("--amqp-uri (or AMQP_URI) is required")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    rules = load_policy(os.environ.get("POLICY_FILE") or None).consumers
    migrate(args.amqp_uri, platform_queues(), rules)
    return 0


if __name__ == "__main__":
    sys.exit(main())
