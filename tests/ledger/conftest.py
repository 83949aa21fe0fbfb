"""A real ledger service (nameko run) on the test's own vhost, and events to feed it."""
from __future__ import annotations

import uuid

import pika
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from messaging.wire import IntegrationEvent, encode_body, exchange_name
from tests.messaging.harness import start_nameko, stop, wait_until


def payloads(count: int) -> list[IntegrationEvent]:
    return [IntegrationEvent(
        event_id=str(uuid.uuid4()), type="escrow.RedemptionConfirmed.v1", source="escrow",
        stream=f"card-{i}", version=2, position=i + 1, recorded_at="2026-11-22T09:00:00+00:00",
        data={"card_id": f"card-{i}", "merchant_id": "m-1", "consumer_id": "c-9",
              "amount": 1000 + i, "phone_encrypted": "q83v"},
        metadata={}) for i in range(count)]


def publish(amqp_uri: str, events: list[IntegrationEvent]) -> None:
    with pika.BlockingConnection(pika.URLParameters(amqp_uri)) as conn:
        channel = conn.channel()
        channel.confirm_delivery()
        for event in events:
            channel.basic_publish(exchange_name(event.source), event.type, encode_body(event),
                                  pika.BasicProperties(content_type="application/json",
                                                       delivery_mode=2), mandatory=True)


@pytest.fixture
def ledger_service(tmp_path, amqp_uri):
    process = start_nameko("ledger.service:LedgerService", {
        "AMQP_URI": amqp_uri, "LEDGER_DIR": str(tmp_path / "ledger"), "LEDGER_BATCH_MAX": 50,
        "max_workers": 50,
    }, tmp_path)
    rpc = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=20)
    proxy = rpc.start()
    wait_until(lambda: _alive(proxy), timeout=60, what="the ledger service")
    yield proxy
    rpc.stop()
    stop(process)


def _alive(proxy) -> bool:
    try:
        return proxy.ledger.health()["status"] == "ok"
    except Exception:  # noqa: BLE001 - not up yet
        return False


