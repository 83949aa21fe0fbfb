"""Escrow cards bought through the real use cases over a real store, shared by the escrow's
application, store and migration tests."""

from __future__ import annotations

from datetime import UTC, datetime

from policy import load_policy
from services.escrow.application import commands
from tests.support.products import Products

POLICY = load_policy()
T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)

PRODUCTS = Products(
    sv={
        "merchant_id": "m-1",
        "type": "stored_value",
        "price": 100_000,
        "bonus": 20_000,
        "uses": 0,
        "validity_days": 365,
        "period_days": 0,
    },
    count={
        "merchant_id": "m-1",
        "type": "count",
        "price": 80_000,
        "bonus": 0,
        "uses": 10,
        "validity_days": 180,
        "period_days": 0,
    },
    big={
        "merchant_id": "m-1",
        "type": "stored_value",
        "price": 500_000,
        "bonus": 0,
        "uses": 0,
        "validity_days": 365,
        "period_days": 0,
    },
    period={
        "merchant_id": "m-1",
        "type": "period",
        "price": 90_000,
        "bonus": 0,
        "uses": 0,
        "validity_days": 0,
        "period_days": 90,
    },
)


def buy_period(store, bank, consumer="c-1", when=T0) -> str:
    """A 90-day period card of 900 yuan: 10 yuan a day."""
    return commands.purchase_card(
        consumer, "period", store=store, merchants=PRODUCTS, bank=bank, policy=POLICY, now=when
    )["card_id"]


def buy(store, bank, consumer="c-1", product="sv"):
    return commands.purchase_card(
        consumer, product, store=store, merchants=PRODUCTS, bank=bank, policy=POLICY, now=T0
    )
