"""Two escrow replicas on one PostgreSQL store: their timers' scheduled work (payouts and
each day's reconciliation among it) runs once, one replica at a time, and the job's lease
passes to the other replica when its holder is killed."""

from __future__ import annotations

import os
import re
import signal
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from eventstore.postgres import PostgresEventStore
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import commands, migrations
from tests.support.escrow_cards import T0, buy
from tests.support.gateway_state import postgres_url
from tests.support.harness import start_service, stop, wait_until

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.slow]

LOGGING = {
    "version": 1,
    "formatters": {"t": {"format": "%(created).6f %(name)s %(message)s"}},
    "handlers": {"out": {"class": "logging.StreamHandler", "formatter": "t"}},
    "loggers": {"services.scheduled": {"level": "DEBUG", "handlers": ["out"]}},
}


def released_money(store, bank) -> int:
    """Money released to m-1 on T0's day (paid out T+1): two confirmed redemptions."""
    total = 0
    for consumer in ("c-1", "c-2"):
        card_id = buy(store, bank, consumer=consumer)["card_id"]
        hold = commands.request_redemption(
            card_id, "m-1", value=3_000, uses=0, store=store, policy=_policy(), now=T0
        )
        done = commands.confirm_redemption(hold["redemption_id"], consumer, store=store, now=T0)
        total += done["released_amount"]
    return total


def _policy():
    from tests.support.escrow_cards import POLICY

    return POLICY


def events_of(store, type_: str) -> list:
    out, after = [], 0
    while page := store.read_all(after, 1000):
        out += [r for r in page if r.type == type_]
        after = page[-1].position
    return out


def runs(log_text: str) -> list[tuple[float, float]]:
    """(taken, released) times of the runs a replica's log shows."""
    taken = [
        float(t) for t in re.findall(r"^(\S+) \S+ job escrow.sweep: lock taken", log_text, re.M)
    ]
    done = [float(t) for t in re.findall(r"^(\S+) \S+ job escrow.sweep: done", log_text, re.M)]
    return list(zip(taken, done, strict=False))


def test_two_replicas_pay_and_reconcile_once_and_hand_the_job_over(tmp_path, pg_dsn, amqp_uri):
    url = postgres_url(pg_dsn, schema="escrow")
    store = PostgresEventStore(pg_dsn, schema="escrow")
    migrations.migrate(store)
    bank = SimulatedBank(tmp_path / "bank", clock=lambda: T0)
    amount = released_money(store, bank)
    config = {
        "STORE_URL": url,
        "SCHEDULE_INTERVALS": {"escrow.sweep": 0.3},
        "JOB_LEASE_SECONDS": 3,
        "LOGGING": LOGGING,
    }
    replicas = []
    for n in (1, 2):
        workdir = tmp_path / f"r{n}"
        workdir.mkdir()
        (workdir / "bank").symlink_to(tmp_path / "bank")
        replicas.append((workdir, start_service("escrow", workdir, amqp_uri, **config)))
    logs = [w / "service:EscrowService.log" for w, _ in replicas]
    try:
        wait_until(
            lambda: (
                all(p.poll() is None for _, p in replicas) is True
                and sum(len(runs(p.read_text())) for p in logs if p.exists()) >= 6
            ),
            timeout=120,
            what="the sweep run six times by the two replicas",
        )
        # The job's lease holder, killed while it holds the lease (mid-run or just after).
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            holder = wait_until(
                lambda: conn.execute(
                    "SELECT holder, token FROM escrow.job_leases"
                    " WHERE job = 'escrow.sweep' AND expires_at > now() + interval '1 second'"
                ).fetchone(),
                timeout=60,
                interval=0.01,
                what="a replica holding the lease",
            )
            pid = int(holder[0].split(":")[1])  # host:pid:random
            victim = next(p for _, p in replicas if p.pid == pid)
            os.kill(victim.pid, signal.SIGKILL)
            killed_at = time.time()
            victim.wait(timeout=10)
            survivor_pid = next(p.pid for _, p in replicas if p is not victim)
            taken_over = wait_until(
                lambda: conn.execute(
                    "SELECT holder, token FROM escrow.job_leases WHERE job = 'escrow.sweep'"
                    " AND holder LIKE %s",
                    (f"%:{survivor_pid}:%",),
                ).fetchone(),
                timeout=30,
                what="the survivor taking the lease",
            )
        survivor_log = next(w for w, p in replicas if p is not victim) / "service:EscrowService.log"
        wait_until(
            lambda: any(t > killed_at for t, _ in runs(survivor_log.read_text())),
            timeout=30,
            what="the survivor running the job after the kill",
        )
        assert taken_over[1] > holder[1], "a new holder: the next fencing token"
    finally:
        for _, process in replicas:
            stop(process)

    every_run = sorted(r for p in logs for r in runs(p.read_text()))
    assert len(every_run) >= 6
    for (_, released), (taken, _) in zip(every_run, every_run[1:], strict=False):
        assert taken >= released, "one replica at a time runs the job"

    payouts = events_of(store, "escrow.PayoutMade.v1")
    assert [(p.data["merchant_id"], p.data["amount"]) for p in payouts] == [("m-1", amount)]
    reports = [r.data["day"] for r in events_of(store, "escrow.ReconciliationCompleted.v1")]
    today = datetime.now(UTC).date()
    days = (today - T0.date()).days
    expected = [(T0.date() + timedelta(days=i)).isoformat() for i in range(days)]
    assert sorted(reports) == expected, "each finished day reconciled exactly once"
    store.close()
