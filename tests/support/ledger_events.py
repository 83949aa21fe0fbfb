"""Integration events for the ledger, published straight to its source's exchange, and the
summaries of such events that tests append to a Ledger directly."""

from __future__ import annotations

import uuid

import pika

from ledger.entry import summarise
from messaging.wire import IntegrationEvent, encode_body, exchange_name


def summary(i: int, merchant: str = "m-1", *, tag: str = "") -> tuple[str, dict]:
    """(event id, summary) of the i-th redemption at `merchant`; a `tag` makes another event
    with the same i (its own event id and card)."""
    event_id = str(uuid.UUID(int=i + 1 + (10**6 if tag else 0)))
    return event_id, summarise(
        {
            "event_id": event_id,
            "type": "escrow.RedemptionConfirmed.v1",
            "source": "escrow",
            "stream": f"card-{i}",
            "version": 1,
            "position": i + 1,
            "recorded_at": "2026-11-22T09:00:00+00:00",
            "data": {"card_id": f"card-{i}{tag}", "merchant_id": merchant, "amount": 100 + i},
        }
    )


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
