"""A poison message: parked by its consumer after N deliveries, with its error, shown in
health, and replayed once the handler is fixed (or dropped), against a real RabbitMQ node, a
real relay and a real nameko consumer. The queue is a quorum queue, declared alike by both."""

from __future__ import annotations

import subprocess
import sys

import pika
import pika.exceptions
import pytest

from messaging import queues
from messaging.consumer import QueueArgumentsMismatch, declare_platform_queue
from messaging.health import consumer_health
from messaging.parked import parked_depths
from policy import load_policy
from tests.support.harness import ROOT, stop, wait_until
from tests.support.relay_platform import BINDINGS, Platform, sell

pytestmark = pytest.mark.broker

RULES = load_policy().consumers
QUEUE = BINDINGS[0].queue


@pytest.fixture
def platform(tmp_path, amqp_uri):
    p = Platform(tmp_path, amqp_uri)
    p.fixed_file = tmp_path / "fixed"
    yield p
    p.close()


def start(platform: Platform) -> None:
    from tests.support.harness import start_nameko

    platform.recorder = start_nameko(
        "tests.support.sample_service",
        {
            "AMQP_URI": platform.amqp_uri,
            "STORE_URL": f"sqlite:///{platform.recorder_db}",
            "DELIVERY_LOG": str(platform.delivery_log),
            "FIXED_FILE": str(platform.workdir / "fixed"),
        },
        platform.workdir,
    )
    platform.processes.append(platform.recorder)
    platform.start_relay()


def park_command(platform: Platform, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "messaging.park", *args, "--queue", QUEUE],
        cwd=ROOT,
        env={"AMQP_URI": platform.amqp_uri, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def queued(platform: Platform) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(platform.amqp_uri))
    try:
        frame = connection.channel().queue_declare(QUEUE, passive=True)
        return frame.method.message_count
    finally:
        connection.close()


def parked(platform: Platform) -> int:
    return parked_depths(platform.amqp_uri, [QUEUE])[QUEUE]


def poison_parked(platform: Platform) -> tuple[list[str], str]:
    good = sell(platform.source, 3)
    [poison] = sell(platform.source, 1, start=3, poison=True)
    good += sell(platform.source, 3, start=4)
    start(platform)
    # Neither the relay nor the consumer waits on the poison: every other event is applied.
    platform.wait_for(good)
    wait_until(lambda: parked(platform) == 1, 60, what="the poison parked")
    return good, poison


def test_a_poison_message_is_parked_after_n_tries_shown_and_replayed_once_after_a_fix(
    platform,
):
    good, poison = poison_parked(platform)
    assert platform.deliveries().count(poison) == RULES.delivery_limit
    assert poison not in platform.recorded()
    wait_until(lambda: f"parked event {poison}" in platform.consumer_log(), 10, what="the log")
    line = next(x for x in platform.consumer_log().splitlines() if f"parked event {poison}" in x)
    # nameko's default logging prints WARNING and above, the message only.
    assert QUEUE in line and "shop.Sold.v1" in line and "ValueError" in line

    # The alert: /healthz's consumer part is degraded, naming the queue and the command.
    health = consumer_health(parked_depths(platform.amqp_uri, [QUEUE]))
    assert health["consumer_status"] == "degraded" and health["consumer_parked"] == 1
    assert f"python -m messaging.park list --queue {QUEUE}" in health["consumer_problems"][0]

    listed = park_command(platform, "list")
    assert listed.returncode == 0, listed.stderr
    [row] = listed.stdout.splitlines()
    assert poison in row and "builtins.ValueError: cannot apply this sale" in row
    error = row.split("builtins.ValueError: ", 1)[1]
    assert len(error.encode()) <= RULES.max_error_bytes  # bounded, not 24 KB of header
    assert parked(platform) == 1  # listing leaves it parked

    platform.fixed_file.write_text("deployed")
    duplicate_as_after_a_crash_between_confirm_and_ack(platform)
    replayed = park_command(platform, "replay", poison)
    assert replayed.returncode == 0, replayed.stderr
    assert f"replayed {poison}" in replayed.stdout
    platform.wait_for([poison])
    assert parked(platform) == 0
    assert consumer_health(parked_depths(platform.amqp_uri, [QUEUE]))["consumer_status"] == "ok"
    wait_until(lambda: queued(platform) == 0, 30, what="both copies taken")
    stop(platform.recorder)  # a graceful stop: whatever it held unacked goes back
    assert queued(platform) == 0
    # Applied exactly once although it came twice (the second copy finds its event id
    # recorded and is acked unrun); nothing else applied again.
    assert platform.deliveries().count(poison) == RULES.delivery_limit + 1
    assert platform.recorded()[poison]["applied"] == 1
    assert all(platform.recorded()[event_id]["applied"] == 1 for event_id in good)


def duplicate_as_after_a_crash_between_confirm_and_ack(platform: Platform) -> None:
    """Puts a copy of the parked message on its queue and leaves the parked one in place."""
    connection = pika.BlockingConnection(pika.URLParameters(platform.amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    method, properties, body = channel.basic_get(queues.parked_queue_name(QUEUE))
    properties.headers = queues.replay_headers(properties.headers)
    channel.basic_publish("", QUEUE, body, properties, mandatory=True)
    channel.basic_nack(method.delivery_tag, requeue=True)
    connection.close()


def test_drop_removes_a_parked_message_and_applies_nothing(platform):
    _, poison = poison_parked(platform)
    assert park_command(platform, "drop", "no-such-event").returncode == 1
    assert parked(platform) == 1
    dropped = park_command(platform, "drop", poison)
    assert dropped.returncode == 0, dropped.stderr
    assert parked(platform) == 0
    platform.fixed_file.write_text("deployed")
    assert poison not in platform.recorded()


def test_a_classic_queue_of_that_name_is_refused_with_how_to_migrate(amqp_uri):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    connection.channel().queue_declare("evt-old", durable=True)  # as before quorum queues
    connection.close()
    with pytest.raises(QueueArgumentsMismatch) as refused:
        declare_platform_queue(amqp_uri, "evt-old", RULES)
    assert "'evt-old'" in str(refused.value) and "delete_queue evt-old" in str(refused.value)


def test_a_relay_that_meets_a_classic_queue_says_which_and_how_to_migrate(platform):
    connection = pika.BlockingConnection(pika.URLParameters(platform.amqp_uri))
    connection.channel().queue_declare(QUEUE, durable=True)  # as before quorum queues
    connection.close()
    sell(platform.source, 1)
    platform.start_relay()
    log = platform.workdir / "relay-shop.log"
    wait_until(
        lambda: log.exists() and f"already has queue {QUEUE!r}" in log.read_text(),
        30,
        what="the relay's error",
    )
    assert f"delete_queue {QUEUE}" in log.read_text()
    assert "parked" not in log.read_text().replace(".parked", "")  # no event blamed for it


def test_the_queue_is_a_quorum_queue_with_its_parking_queue(platform):
    poison_parked(platform)
    channel = pika.BlockingConnection(pika.URLParameters(platform.amqp_uri)).channel()
    # Declared again with the policy's arguments: equivalent, so no 406.
    channel.queue_declare(QUEUE, durable=True, arguments=queues.queue_arguments(QUEUE, RULES))
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as classic:
        channel.queue_declare(QUEUE, durable=True)
    assert classic.value.reply_code == 406
    channel.connection.close()


def test_a_platform_service_reports_its_parked_messages_in_health(tmp_path, amqp_uri):
    """The service's health RPC (what /healthz gathers) counts its own queues' parked
    messages, degraded with the queue and the command to run."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from eventstore import NewEvent
    from eventstore.sqlite import SqliteEventStore
    from messaging.wire import IntegrationEvent, encode_body, exchange_name
    from tests.support.harness import start_nameko

    till_queue = "evt-shop-shop.Sold.v1--till.on_sold"
    service = start_nameko(
        "tests.support.parking_service:Till",
        {"AMQP_URI": amqp_uri, "STORE_URL": f"sqlite:///{tmp_path / 'till.db'}"},
        tmp_path,
    )
    cluster = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30)
    proxy = cluster.start()
    try:
        health = wait_until(lambda: _health(proxy), 60, what="the till's health")
        assert health["consumer_status"] == "ok" and health["consumer_parked"] == 0

        source = SqliteEventStore(tmp_path / "shop.db")
        source.append("s-1", [NewEvent("shop.Sold.v1", {"amount": 1, "poison": True})], 0)
        [recorded] = source.read_all(0, 1)
        source.close()
        connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            exchange_name("shop"),
            "shop.Sold.v1",
            encode_body(IntegrationEvent.from_recorded("shop", recorded)),
            pika.BasicProperties(content_type="application/json", delivery_mode=2),
            mandatory=True,
        )
        connection.close()

        health = wait_until(
            lambda: (h := _health(proxy)) and h["consumer_parked"] == 1 and h,
            60,
            what="the parked message in health",
        )
        assert health["consumer_status"] == "degraded"
        assert health["consumer_parked_by_queue"] == {till_queue: 1}
        assert health["consumer_problems"] == [
            f"1 message(s) parked from {till_queue}:"
            f" python -m messaging.park list --queue {till_queue}"
        ]
    finally:
        cluster.stop()
        stop(service)


def _health(proxy) -> dict | None:
    try:
        return proxy.till.health()
    except Exception:  # noqa: BLE001 - not up yet
        return None
