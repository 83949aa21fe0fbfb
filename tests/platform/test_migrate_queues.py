"""`make run` keeps its broker's data: classic queues from before quorum ones are migrated,
their messages kept, before the services declare them with the policy's arguments."""

from __future__ import annotations

import pika
import pytest

from messaging import queues
from platformrun.migrate_queues import MIGRATING_SUFFIX, migrate
from policy import load_policy

pytestmark = pytest.mark.broker

RULES = load_policy().consumers


def _channel(amqp_uri):
    return pika.BlockingConnection(pika.URLParameters(amqp_uri)).channel()


def test_a_classic_queue_becomes_the_policys_with_its_messages(amqp_uri):
    channel = _channel(amqp_uri)
    channel.queue_declare("evt-old", durable=True)
    channel.confirm_delivery()
    for i in range(3):
        channel.basic_publish(
            "", "evt-old", f"m{i}".encode(), pika.BasicProperties(headers={"i": i})
        )
    channel.connection.close()

    assert migrate(amqp_uri, ["evt-old", "evt-new"], RULES) == ["evt-old"]
    assert migrate(amqp_uri, ["evt-old", "evt-new"], RULES) == []  # nothing left to do

    channel = _channel(amqp_uri)
    # Both now accept the policy's arguments (a mismatch would close the channel: 406).
    for name in ("evt-old", "evt-new"):
        channel.queue_declare(name, durable=True, arguments=queues.queue_arguments(name, RULES))
    bodies = []
    while (got := channel.basic_get("evt-old", auto_ack=True))[0] is not None:
        bodies.append((got[2], got[1].headers["i"]))
    assert bodies == [(b"m0", 0), (b"m1", 1), (b"m2", 2)]
    with pytest.raises(pika.exceptions.ChannelClosedByBroker):  # the temporary queue is gone
        channel.queue_declare("evt-old" + MIGRATING_SUFFIX, passive=True)
    channel.connection.close()


def test_a_migration_cut_short_is_finished_by_the_next_run(amqp_uri):
    channel = _channel(amqp_uri)
    # As a crash left it: the queue deleted and declared again, its messages still aside.
    temporary = "evt-q" + MIGRATING_SUFFIX
    channel.queue_declare(temporary, durable=True, arguments=queues.parked_queue_arguments(RULES))
    channel.confirm_delivery()
    channel.basic_publish("", temporary, b"kept")
    channel.connection.close()

    assert migrate(amqp_uri, ["evt-q"], RULES) == ["evt-q"]
    channel = _channel(amqp_uri)
    assert channel.basic_get("evt-q", auto_ack=True)[2] == b"kept"
    channel.connection.close()


def test_the_platform_queues_are_every_handlers_and_the_ledgers():
    from ledger.service import NOTARY_QUEUE
    from platformrun.registry import all_bindings, platform_queues

    names = platform_queues()
    assert NOTARY_QUEUE in names and len(names) == len(set(names)) > 1
    assert set(names) == {binding.queue for binding in all_bindings()}
