"""Finding 1: one header stopped a service's event flow for good.

A consumer's `POST /cards` with a 200 KB `X-Request-Id` was accepted; the id was copied into
the event's correlation id and its AMQP header; RabbitMQ refused the frame (frame_max 128 KB)
and the relay sent the same event again once a second, forever. Nothing after it was
notarised or assessed, and /healthz stayed "ok".

Now the gateway keeps only a short token as correlation id (else makes one up) and names it
in the response; the relay never puts an unchecked id in a header, parks an event it cannot
encode within bounds or that the broker keeps refusing, and goes on; /healthz says
"degraded", naming the relay and why.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from eventstore import NewEvent
from eventstore.records import ParkedEvent
from eventstore.sqlite import SqliteEventStore
from messaging.correlation import is_valid
from messaging.health import store_health
from messaging.topology import subscriptions_of
from policy import load_policy
from services.gateway.app import create_app
from tests.support.gateway import auth, gateway_settings
from tests.support.harness import (
    ROOT,
    merchant_and_escrow_gateway,
    start_nameko,
    start_relay,
    start_service,
    stop,
    store_url,
    wait_until,
)
from tests.support.merchants import onboard
from tests.support.sample_service import Recorder

pytestmark = pytest.mark.broker

HUGE_ID = "r" * 200_000
RULES = load_policy().relay


def _events(url: str) -> list:
    store = SqliteEventStore(url.removeprefix("sqlite:///"))
    try:
        return store.read_all(0, 10_000)
    finally:
        store.close()


# --- (a) the gateway ----------------------------------------------------------------------


@pytest.fixture
def gateway(tmp_path, amqp_uri):
    with merchant_and_escrow_gateway(tmp_path, amqp_uri) as client:
        yield client


def test_a_huge_request_id_is_replaced_by_a_short_one_that_the_response_names(gateway, tmp_path):
    merchant_id = onboard(gateway)
    merchant = auth(gateway, "merchant", merchant_id)
    product = gateway.post(
        f"/api/v1/merchants/{merchant_id}/products",
        headers=merchant,
        json={
            "type": "count",
            "name": "10 lessons",
            "price": 80_000,
            "uses": 10,
            "validity_days": 180,
        },
    ).get_json()
    consumer = auth(gateway, "consumer", "c-huge-id")

    bought = gateway.post(
        "/api/v1/cards",
        json={"product_id": product["product_id"]},
        headers={**consumer, "X-Request-Id": HUGE_ID},
    )
    assert bought.status_code == 201, bought.get_json()
    used = bought.headers["X-Request-Id"]
    assert used != HUGE_ID and is_valid(used) and len(used) == 32

    own = "trace-42.a_b"
    again = gateway.get(
        f"/api/v1/cards/{bought.get_json()['card_id']}", headers={**consumer, "X-Request-Id": own}
    )
    assert again.headers["X-Request-Id"] == own, "a valid id is kept and echoed"

    card_events = [
        e
        for e in _events(store_url(tmp_path, "escrow"))
        if e.data.get("card_id") == bought.get_json()["card_id"]
    ]
    assert card_events, "the purchase was recorded"
    ids = {e.metadata.get("correlation_id") for e in card_events}
    assert HUGE_ID not in ids and used in ids
    assert all(len(e.metadata.get("correlation_id", "")) <= 64 for e in card_events)


# --- (b) the relay ------------------------------------------------------------------------


class Shop:
    """A source store, its real relay process and the sample consumer service."""

    def __init__(self, workdir: Path, amqp_uri: str):
        self.workdir, self.amqp_uri = workdir, amqp_uri
        self.url = f"sqlite:///{workdir / 'shop.db'}"
        self.store = SqliteEventStore(workdir / "shop.db")
        self.recorder_db = workdir / "recorder.db"
        self.processes: list[subprocess.Popen] = []

    def sell(self, count: int, start: int, **extra) -> list[str]:
        ids = []
        for i in range(start, start + count):
            event = NewEvent(
                "shop.Sold.v1",
                {"amount": 100 + i, **extra.get("data", {})},
                extra.get("metadata", {"correlation_id": f"c{i}"}),
            )
            self.store.append(f"sale-{i}", [event], 0)
            ids.append(event.id)
        return ids

    def start(self):
        self.processes.append(
            start_nameko(
                "tests.support.sample_service",
                {
                    "AMQP_URI": self.amqp_uri,
                    "STORE_URL": f"sqlite:///{self.recorder_db}",
                    "DELIVERY_LOG": str(self.workdir / "deliveries.log"),
                },
                self.workdir,
            )
        )
        self.processes.append(
            start_relay(
                "shop", self.url, self.amqp_uri, self.workdir, bindings=subscriptions_of(Recorder)
            )
        )

    def recorded(self) -> set[str]:
        if not self.recorder_db.exists():
            return set()
        with sqlite3.connect(self.recorder_db) as conn:
            try:
                return {
                    key
                    for (key,) in conn.execute("SELECT key FROM views WHERE collection = 'sold'")
                }
            except sqlite3.OperationalError:
                return set()

    def parked(self) -> list[ParkedEvent]:
        return self.store.parked("relay:shop")

    def relay_log(self) -> str:
        return (self.workdir / "relay-shop.log").read_text(errors="replace")

    def park_command(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "platformrun.park",
                *args,
                "--service",
                "shop",
                "--store-url",
                self.url,
                "--amqp-uri",
                self.amqp_uri,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def close(self):
        for process in self.processes:
            stop(process)
        self.store.close()


@pytest.fixture
def shop(tmp_path, amqp_uri):
    shop = Shop(tmp_path, amqp_uri)
    yield shop
    shop.close()


def test_an_event_stored_with_a_huge_correlation_id_does_not_hold_the_relay(shop):
    """What the finding left in stores: the event publishes (its id stays in the body's
    metadata, not in a header) and so do the events after it."""
    before = shop.sell(2, 0)
    huge = shop.sell(1, 2, metadata={"correlation_id": HUGE_ID})
    after = shop.sell(3, 3)
    shop.start()
    wanted = set(before + huge + after)
    wait_until(lambda: shop.recorded() >= wanted, timeout=60, what="every sale consumed")
    assert shop.parked() == []


def test_an_event_over_the_size_bound_is_parked_and_the_rest_flow(shop):
    before = shop.sell(2, 0)
    too_big = shop.sell(1, 2, data={"padding": "x" * (RULES.max_message_bytes + 1)})
    after = shop.sell(3, 3)
    shop.start()
    wait_until(
        lambda: shop.recorded() >= set(before + after),
        timeout=60,
        what="the sales after the oversized one",
    )
    wait_until(
        lambda: shop.store.position("relay:shop") == shop.store.head_position(),
        timeout=30,
        what="the relay's position past every event",
    )
    [parked] = shop.parked()
    assert parked.event_id == too_big[0] and parked.position == 3
    assert "over the limit" in parked.error
    assert too_big[0] not in shop.recorded()
    log = shop.relay_log()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(
        line["level"] == "ERROR"
        and line["message"].startswith(f"relay shop: PARKED event {too_big[0]}")
        for line in lines
    ), "one JSON log line (messaging/logs.py) names the parked event"
    assert "xxxxxxxx" not in log, "the event's data is never logged"


def _refusing_broker(node, max_message_size: int) -> str:
    """A vhost on a node whose channels refuse bodies over `max_message_size` (406)."""
    node.ctl("eval", f"application:set_env(rabbit, max_message_size, {max_message_size}).")
    return node.add_vhost("refusing")


def test_events_the_broker_refuses_are_parked_and_the_rest_are_consumed(tmp_path, own_rabbit):
    """Real refusals by a real RabbitMQ node: a body over the broker's max_message_size (it
    closes the channel, naming no message) and an event no queue is bound to (returned)."""
    shop = Shop(tmp_path, _refusing_broker(own_rabbit, 64 * 1024))
    try:
        before = shop.sell(3, 0)
        refused_size = shop.sell(1, 3, data={"padding": "y" * 100_000})
        middle = shop.sell(2, 4)
        unroutable = NewEvent("shop.NobodyListens.v1", {"amount": 1})
        shop.store.append("lost-1", [unroutable], 0)
        after = shop.sell(4, 6)
        shop.start()
        wait_until(
            lambda: shop.recorded() >= set(before + middle + after),
            timeout=90,
            what="every sale the broker accepts",
        )
        wait_until(lambda: len(shop.parked()) == 2, timeout=60, what="two parked events")
        parked = {event.event_id: event for event in shop.parked()}
        assert set(parked) == {refused_size[0], unroutable.id}
        assert "406" in parked[refused_size[0]].error
        assert "unroutable" in parked[unroutable.id].error
        assert refused_size[0] not in shop.recorded()
        wait_until(
            lambda: shop.store.position("relay:shop") == shop.store.head_position(),
            timeout=30,
            what="the relay's position past every event",
        )

        health = store_health(shop.store, "shop", RULES)
        assert health["relay_status"] == "degraded" and health["relay_parked"] == 2
        assert any("2 event(s) parked" in p for p in health["relay_problems"])

        listed = shop.park_command("list")
        assert listed.returncode == 0
        assert refused_size[0] in listed.stdout and unroutable.id in listed.stdout

        # Refused again: it stays parked.
        position = parked[refused_size[0]].position
        again = shop.park_command("replay", str(position))
        assert again.returncode == 1 and "406" in again.stderr
        assert len(shop.parked()) == 2

        # The operator raises the broker's limit; the replay goes through and is consumed.
        own_rabbit.ctl("eval", "application:set_env(rabbit, max_message_size, 134217728).")
        replayed = shop.park_command("replay", str(position))
        assert replayed.returncode == 0, replayed.stderr
        wait_until(
            lambda: refused_size[0] in shop.recorded(),
            timeout=30,
            what="the replayed event consumed",
        )
        dropped = shop.park_command("drop", str(parked[unroutable.id].position))
        assert dropped.returncode == 0, dropped.stderr
        assert shop.parked() == []
        assert store_health(shop.store, "shop", RULES)["relay_status"] == "ok"
    finally:
        shop.close()


def test_parking_and_moving_the_position_are_one_transaction(tmp_path):
    store = SqliteEventStore(tmp_path / "s.db")
    ids = [NewEvent("shop.Sold.v1", {"amount": i}) for i in range(3)]
    for i, event in enumerate(ids):
        store.append(f"s-{i}", [event], 0)
    store.park("relay:shop", ParkedEvent(2, ids[1].id, "shop.Sold.v1", "why"))
    assert store.position("relay:shop") == 2
    assert [p.event_id for p in store.parked("relay:shop")] == [ids[1].id]
    assert store.unpark("relay:shop", 2) and not store.unpark("relay:shop", 2)
    store.close()


# --- (c) /healthz -------------------------------------------------------------------------


def test_healthz_is_degraded_naming_the_relay_when_it_lags_or_has_parked(tmp_path, amqp_uri):
    policy = (
        (ROOT / "policy" / "policy.v1.toml")
        .read_text()
        .replace("max_lag_events = 1_000", "max_lag_events = 1")
    )
    (tmp_path / "policy.toml").write_text(policy)
    escrow = start_service("escrow", tmp_path, amqp_uri, POLICY_FILE=str(tmp_path / "policy.toml"))
    app = create_app(gateway_settings(tmp_path, amqp_uri, services=("escrow",)))
    client = app.test_client()
    try:
        wait_until(
            lambda: client.get("/healthz").status_code == 200, timeout=60, what="the escrow service"
        )
        body = client.get("/healthz").get_json()
        assert body["status"] == "ok" and body["problems"] == []

        # Two events no relay publishes (none runs here), and one parked.
        store = SqliteEventStore(store_url(tmp_path, "escrow").removeprefix("sqlite:///"))
        events = [NewEvent("escrow.Probe.v1", {"n": i}) for i in range(3)]
        store.append("probe", events, 0)
        response = client.get("/healthz")
        assert response.status_code == 200
        body = response.get_json()
        assert body["status"] == "degraded"
        assert any(
            p.startswith("escrow relay: ") and "events not yet published (limit 1)" in p
            for p in body["problems"]
        ), body["problems"]

        store.park("relay:escrow", ParkedEvent(1, events[0].id, events[0].type, "refused"))
        body = client.get("/healthz").get_json()
        assert body["status"] == "degraded"
        assert (
            "escrow relay: 1 event(s) parked: python -m platformrun.park list --service escrow"
            in body["problems"]
        )
        assert body["dependencies"]["escrow"]["relay_parked"] == 1
        assert json.dumps(body).count("escrow.Probe") == 0, "no event data in the body"
        store.close()
    finally:
        app.config["RPC_POOL"].close()
        stop(escrow)


def test_healthz_degrades_on_the_age_of_the_oldest_unpublished_event():
    rules = load_policy().relay
    from messaging.health import relay_problems

    assert relay_problems(0, rules.max_age_seconds + 1, 0, "risk", rules) == [
        f"the oldest unpublished event was recorded {rules.max_age_seconds + 1} s ago"
        f" (limit {rules.max_age_seconds} s)"
    ]
    assert relay_problems(rules.max_lag_events, rules.max_age_seconds, 0, "risk", rules) == []


def test_every_header_built_from_event_data_is_bounded_before_the_broker_sees_it():
    """What made RabbitMQ close the connection: a header frame over frame_max. The relay now
    finds such an event itself and parks it at once."""
    from datetime import UTC, datetime

    from eventstore.records import RecordedEvent
    from messaging import outbound

    def recorded(type_name="shop.Sold.v1", metadata=None):
        return RecordedEvent(
            "e-1", type_name, {"amount": 1}, metadata or {}, "s", 1, 1, datetime.now(UTC)
        )

    _, properties = outbound.encode(
        "shop", recorded(metadata={"correlation_id": HUGE_ID}), RULES, 131_072
    )
    assert "nameko.correlation_id" not in properties.headers, "an unchecked id is no header"
    _, properties = outbound.encode(
        "shop", recorded(metadata={"correlation_id": "c-1"}), RULES, 131_072
    )
    assert properties.headers["nameko.correlation_id"] == "c-1"
    with pytest.raises(outbound.Unencodable, match="event type is 300 bytes"):
        outbound.encode("shop", recorded(type_name="t" * 300), RULES, 131_072)
    with pytest.raises(outbound.Unencodable, match="header frame is .* over frame_max 64"):
        outbound.encode("shop", recorded(), RULES, 64)
