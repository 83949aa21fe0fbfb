"""The alert queue's test city: red merchants published as their services would, folded by
risk as its consumer does, and the queue read and worked a page at a time (the queue's tests
and the tests of its keys as references share them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eventstore import NewEvent
from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.risk.application import alerts, commands, projections
from services.risk.application.observations import event_time
from services.risk.domain.alerts import AlertRules
from services.risk.domain.health_code import RiskRules
from tests.support.merchant_port import FakeMerchants

POLICY = load_policy()
RULES = RiskRules.from_policy(POLICY.risk)
SLA = AlertRules.from_policy(POLICY.risk)
T0 = datetime(2026, 9, 1, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)
INDUSTRIES = ("education", "fitness", "catering")


def open_stores(tmp_path):
    """The merchant's, the escrow's and risk's stores, as a fixture yields them."""
    opened = {n: SqliteEventStore(tmp_path / f"{n}.db") for n in ("merchant", "escrow", "risk")}
    yield opened
    for store in opened.values():
        store.close()


def publish(stores, source, event_type, at, **data):
    """An event of `source` in its own store, and folded by risk as its consumer does, at
    the event's own time (`requested_at`, one of the fields observations.event_time reads)."""
    stream = f"{source}-{data.get('merchant_id') or data.get('day')}"
    data = {**data, "requested_at": at.isoformat()}
    stores[source].append(
        stream, [NewEvent(event_type, data)], len(stores[source].read_stream(stream))
    )
    record = stores[source].read_stream(stream)[-1]
    with stores["risk"].unit_of_work() as uow:
        commands.observe_event(
            uow,
            event_type,
            record.data,
            event_time(record.data, record.recorded_at.isoformat()),
            rules=RULES,
        )


def red_merchant(stores, i: int, industry: str, at: datetime) -> str:
    """A merchant of `industry` on the 失信 list: red at once, and an alert."""
    merchant_id = f"m-{i:03d}"
    publish(
        stores,
        "merchant",
        "merchant.MerchantApplied.v1",
        at,
        merchant_id=merchant_id,
        name=f"店{i}",
        industry=industry,
    )
    publish(
        stores,
        "merchant",
        "merchant.MerchantFlagSet.v1",
        at,
        merchant_id=merchant_id,
        flag="dishonest_debtor",
        on=True,
        set_at=at.isoformat(),
    )
    return merchant_id


def page(store, now=T0 + timedelta(days=1), **filters):
    return alerts.queue(store=store, now=now, rules=SLA, **filters)


def walk(store, limit, **filters):
    items, after, pages = [], "", 0
    while True:
        found = page(store, after=after, limit=limit, **filters)
        items += found["items"]
        pages += 1
        if found["next_after"] is None:
            return items, pages
        after = found["next_after"]


def seed(stores, count=12):
    ids = {}
    for i in range(count):
        red_merchant(stores, i, INDUSTRIES[i % 3], T0 + timedelta(minutes=i))
    for _, alert in stores["risk"].list_views(projections.ALERTS, "", 1000):
        ids[alert["merchant_id"]] = alert["alert_id"]
    return [ids[f"m-{i:03d}"] for i in range(count)]


def step(store, alert_id, name, by="regulator:r-1", department="samr", **more):
    return commands.alert_step(
        alert_id,
        name,
        by=by,
        department=department,
        store=store,
        merchants=FakeMerchants(),
        now=T0 + timedelta(hours=2),
        **more,
    )
