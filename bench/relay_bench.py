"""The relay (read store, publish, confirm, save position) against raw pika confirmed publishes
of the same bodies to the same kind of queue, on one throwaway RabbitMQ node: the platform's
queue type (policy [consumers], quorum by default), then classic queues for what it costs."""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
from pathlib import Path

import pika
from pika.spec import Basic

from bench.eventstore_bench import PAYLOAD
from devenv.rabbitmq import RabbitNode
from eventstore import NewEvent
from eventstore.sqlite import SqliteEventStore
from messaging import queues
from messaging.relay import OutboxRelay
from messaging.topology import QueueBinding
from messaging.wire import IntegrationEvent, encode_body
from policy import ConsumerRules, load_policy

COUNT = 20_000
WINDOW = 2000


def _declare(uri: str, queue: str, rules: ConsumerRules) -> None:
    """`queue` afresh, with the arguments the platform's queues have under `rules`."""
    with pika.BlockingConnection(pika.URLParameters(uri)) as conn:
        channel = conn.channel()
        channel.exchange_declare("bench.events", exchange_type="topic", durable=True)
        channel.queue_delete(queue)
        channel.queue_delete(queues.parked_queue_name(queue))
        channel.queue_declare(
            queues.parked_queue_name(queue),
            durable=True,
            arguments=queues.parked_queue_arguments(rules),
        )
        channel.queue_declare(queue, durable=True, arguments=queues.queue_arguments(queue, rules))
        channel.queue_purge(queue)
        channel.queue_bind(queue, "bench.events", routing_key="#")


def raw_one_by_one(uri: str, body: bytes, count: int) -> float:
    with pika.BlockingConnection(pika.URLParameters(uri)) as conn:
        channel = conn.channel()
        channel.confirm_delivery()
        props = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)
        started = time.perf_counter()
        for _ in range(count):
            channel.basic_publish("bench.events", "escrow.Bench.v1", body, props, mandatory=True)
        return count / (time.perf_counter() - started)


def raw_windowed(uri: str, body: bytes, count: int, window: int = WINDOW) -> float:
    """pika at its best: an async connection with up to `window` unconfirmed messages."""
    state = {"sent": 0, "acked": 0, "started": 0.0, "elapsed": 0.0}
    props = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)

    def pump(channel):
        while state["sent"] < count and state["sent"] - state["acked"] < window:
            channel.basic_publish("bench.events", "escrow.Bench.v1", body, props, mandatory=True)
            state["sent"] += 1

    def on_ack(frame, channel):
        if isinstance(frame.method, Basic.Ack):
            tag = frame.method.delivery_tag
            state["acked"] = tag if frame.method.multiple else max(state["acked"], tag)
        if state["acked"] >= count:
            state["elapsed"] = time.perf_counter() - state["started"]
            channel.connection.close()
        else:
            pump(channel)

    def on_channel(channel):
        def confirmed(_frame):
            state["started"] = time.perf_counter()
            pump(channel)

        channel.confirm_delivery(ack_nack_callback=lambda f: on_ack(f, channel), callback=confirmed)

    conn = pika.SelectConnection(
        pika.URLParameters(uri),
        on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
        on_close_callback=lambda c, _r: c.ioloop.stop(),
    )
    conn.ioloop.start()
    return count / state["elapsed"]


def relay_rate(uri: str, workdir: Path, count: int, rules: ConsumerRules) -> float:
    store = SqliteEventStore(workdir / f"outbox-{rules.queue_type}.db")
    for start in range(0, count, 500):
        store.append(f"s-{start}", [NewEvent("escrow.Bench.v1", PAYLOAD) for _ in range(500)], 0)
    head = store.head_position()
    relay = OutboxRelay(
        store,
        "bench",
        uri,
        bindings=[QueueBinding("bench-q", "bench", "#")],
        max_in_flight=WINDOW,
        queue_rules=rules,
    )
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    relay.ready.wait(30)
    started = time.perf_counter()
    while relay.saved_position < head:
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    relay.stop()
    thread.join(timeout=30)
    assert store.position("relay:bench") == head
    store.close()
    return count / elapsed


def run(report) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-rabbit-"))
    node = RabbitNode(base).start()
    try:
        uri = node.amqp_uri
        sample = IntegrationEvent(
            "00000000-0000-0000-0000-000000000000",
            "escrow.Bench.v1",
            "bench",
            "s-0",
            1,
            1,
            "2026-01-01T00:00:00+00:00",
            PAYLOAD,
            {},
        )
        body = encode_body(sample)
        # The platform's queues (quorum by default), then classic ones: what they cost.
        platform_rules = load_policy().consumers
        classic = dataclasses.replace(platform_rules, queue_type="classic")
        for rules in (platform_rules, classic):
            kind = rules.queue_type
            _declare(uri, "bench-q", rules)
            one = raw_one_by_one(uri, body, 2000)
            _declare(uri, "bench-q", rules)
            windowed = raw_windowed(uri, body, COUNT)
            _declare(uri, "bench-q", rules)
            ours = relay_rate(uri, base, COUNT, rules)
            report(
                f"relay published+confirmed (20k events, {kind})",
                ours,
                windowed,
                "events/s",
                target=0.5 if rules is platform_rules else None,
                baseline=f"raw pika, window {WINDOW}",
            )
            report(f"  (raw pika, one-by-one confirms, {kind})", one, None, "msg/s")
    finally:
        node.stop()
