"""Two outbox relays of one service on one PostgreSQL store: only the lease holder publishes
(without the lease each would publish every event), and when the holder is SIGKILLed the
standby takes the lease over and every later event still flows."""

from __future__ import annotations

import os
import signal
import time

import psycopg
import pytest
import requests

from devenv.ports import free_port
from eventstore.postgres import PostgresEventStore
from messaging.topology import QueueBinding
from tests.support.gateway_state import postgres_url
from tests.support.harness import start_relay, stop, wait_until
from tests.support.sold_events import append_sales, drain

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.slow]

QUEUE = "lease-test.sold"
LEASE_SECONDS = "3"


def answers_200(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def lease_holder_pid(pg_dsn: str) -> int | None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT holder FROM shop.job_leases WHERE job = 'relay.shop' AND expires_at > now()"
        ).fetchone()
    return int(row[0].split(":")[1]) if row else None  # host:pid:random


def test_one_relay_publishes_and_the_standby_takes_over(tmp_path, pg_dsn, amqp_uri):
    store = PostgresEventStore(pg_dsn, schema="shop")
    url = postgres_url(pg_dsn, schema="shop")
    relays, probes = [], []
    for name in ("a", "b"):
        probes.append(f"http://127.0.0.1:{free_port()}")
        workdir = tmp_path / name
        workdir.mkdir()
        relays.append(
            start_relay(
                "shop",
                url,
                amqp_uri,
                workdir,
                bindings=[QueueBinding(QUEUE, "shop", "#")],
                extra_env={"RELAY_LEASE_SECONDS": LEASE_SECONDS},
                extra_args=("--metrics-port", probes[-1].rsplit(":", 1)[1]),
            )
        )
    received: list[str] = []
    try:
        first = append_sales(store, 300, 0)
        wait_until(
            lambda: len(drain(amqp_uri, QUEUE, received)) >= 300,
            timeout=90,
            what="the first 300 events published",
        )
        holder = wait_until(lambda: lease_holder_pid(pg_dsn), what="a lease holder")
        assert all(p.poll() is None for p in relays), "the standby waits, it does not exit"
        standby_log = tmp_path / ("b" if holder == relays[0].pid else "a") / "relay-shop.log"
        assert "standby" in standby_log.read_text()
        # The standby's probes are green too: waiting is its job.
        for url in [f"{base}/{probe}" for base in probes for probe in ("livez", "readyz")]:
            wait_until(lambda u=url: answers_200(u), what=f"{url} green")
        drain(amqp_uri, QUEUE, received)
        assert sorted(received) == sorted(first), "published once: only the holder publishes"

        time.sleep(1.0)  # the holder records what the broker confirmed (every 0.05 s)
        victim = next(p for p in relays if p.pid == holder)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        later = append_sales(store, 300, 300)
        wait_until(
            lambda: set(drain(amqp_uri, QUEUE, received)) >= set(first + later),
            timeout=90,
            what="the events after the kill published by the standby",
        )
        survivor = next(p for p in relays if p is not victim)
        assert lease_holder_pid(pg_dsn) == survivor.pid
        drain(amqp_uri, QUEUE, received)
        assert sorted(received) == sorted(first + later), "every event once, none doubled"
    finally:
        for process in relays:
            stop(process)
        store.close()
