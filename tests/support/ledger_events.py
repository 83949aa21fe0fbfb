"""Integration events for the ledger, published straight to its source's exchange."""

from __future__ import annotations

import uuid

import pika

from messaging.wire import IntegrationEvent, encode_body, exchange_name


def payloads(count: int) -> list[IntegrationEvent]:
    return [
        IntegrationEvent(
            event_id=str(uuid.uuid4()),
            type="escrow.RedemptionConfirmed.v1",
            source="escrow",
            stream=f"card-{i}",
            version=2,
            position=i + 1,
            recorded_at="2026-11-22T09:00:00+00:00",
            data={
                "card_id": f"card-{i}",
                "merchant_id": "m-1",
                "consumer_id": "c-9",
                "amount": 1000 + i,
                "phone_encrypted": "q83v",
            },
            metadata={},
        )
        for i in range(count)
    ]


def publish(amqp_uri: str, events: list[IntegrationEvent]) -> None:
    with pika.BlockingConnection(pika.URLParameters(amqp_uri)) as conn:
        channel = conn.channel()
        channel.confirm_delivery()
        for event in events:
            channel.basic_publish(
                exchange_name(event.source),
                event.type,
                encode_body(event),
                pika.BasicProperties(content_type="application/json", delivery_mode=2),
                mandatory=True,
            )
