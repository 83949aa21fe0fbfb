"""A small scripted city for the risk service's views, over a real SQLite store: merchants'
applications, cards, status changes and flags, published as the consumers receive them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from eventstore import NewEvent
from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.risk.application import commands
from services.risk.domain.health_code import RiskRules

RULES = RiskRules.from_policy(load_policy().risk)
T0 = datetime(2026, 9, 1, 9, tzinfo=UTC)


class Recording:
    """The risk store the script publishes to, and the merchant and escrow stores each event
    is also appended to, recorded at its scripted time: what a replay reads."""

    def __init__(self, live, folder: Path):
        self.live, self.at = live, T0
        self.sources = {
            name: SqliteEventStore(folder / f"{name}.db", clock=lambda: self.at)
            for name in ("merchant", "escrow")
        }
        self.streams: dict[str, int] = {}

    def record(self, event_type: str, at: datetime, data: dict) -> None:
        self.at = at
        source = event_type.split(".")[0]
        stream = f"{source}-{data['merchant_id']}"
        version = self.streams.get(stream, 0)
        with self.sources[source].unit_of_work() as uow:
            uow.append(stream, [NewEvent(event_type, data, {})], version)
        self.streams[stream] = version + 1

    def close(self) -> None:
        for store in self.sources.values():
            store.close()


def publish(store, event_type, at, **data):
    if isinstance(store, Recording):
        store.record(f"{event_type}.v1", at, data)
        store = store.live
    with store.unit_of_work() as uow:
        commands.observe_event(uow, f"{event_type}.v1", data, at.isoformat(), rules=RULES)


def applied(store, merchant_id, industry, at=T0):
    publish(
        store,
        "merchant.MerchantApplied",
        at,
        merchant_id=merchant_id,
        name=f"店 {merchant_id}",
        industry=industry,
    )


def card(store, merchant_id, n, at, amount=10_000, upfront=0):
    publish(
        store,
        "escrow.DepositConfirmed",
        at,
        merchant_id=merchant_id,
        card_id=f"{merchant_id}-{n}",
        amount=amount,
        upfront_amount=upfront,
    )


def shops(store, industries: dict[str, str], at=T0) -> None:
    """Each merchant applied in its industry and sold one card at `at`."""
    for merchant_id, industry in industries.items():
        applied(store, merchant_id, industry, at)
        card(store, merchant_id, 1, at)


def status(store, merchant_id, to, at, by="r-1", reason="decided"):
    publish(
        store,
        "merchant.MerchantStatusChanged",
        at,
        merchant_id=merchant_id,
        status=to,
        reason=reason,
        changed_by=by,
    )


def flag(store, merchant_id, at, on=True, name="dishonest_debtor", source="credit-china"):
    publish(
        store,
        "merchant.MerchantFlagSet",
        at,
        merchant_id=merchant_id,
        flag=name,
        on=on,
        source=source,
        set_by="r-1",
    )
