"""The production shape (`make run-cluster`: PostgreSQL, three clustered RabbitMQ nodes, two
replicas of every process) under 2,000 confirms from 16 clients through both gateways, while
one RabbitMQ node is killed and restarted, one escrow replica is SIGKILLed and the ledger's
writer is killed (its lease passes to the standby). Then every confirm was answered, no event
is lost or doubled, the money adds up per card, the bank's statement matches the events, and
the ledger (in PostgreSQL) verifies with every event of every store in it exactly once; its
replicas shared no directory, each LEDGER_DIR holding only its copy of the keys."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import psycopg
import pytest

from devenv.ports import free_port
from eventstore.postgres import PostgresEventStore
from ledger.note import Verifier
from ledger.verify import verify_ledger
from platformrun.cluster import DATABASE, LEDGER_SCHEMA, PlatformCluster
from platformrun.registry import EVENT_SOURCED
from tests.support.cluster_load import Client, Spender, onboard_merchant, run_spenders
from tests.support.harness import wait_until
from tests.support.merchants import fresh_uscc

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 16
CONFIRMS = 2_000
AMOUNT = 120  # face value per spend; a 1000+200 card releases 100 fen of its price for it
PRODUCT = {
    "type": "stored_value",
    "name": "1000+200",
    "price": 100_000,
    "bonus": 20_000,
    "validity_days": 365,
}


def all_events(dsn: str, schema: str) -> list:
    store = PostgresEventStore(dsn, schema=schema, pool_size=1)
    try:
        out, after = [], 0
        while page := store.read_all(after, 1000):
            out += page
            after = page[-1].position
        return out
    finally:
        store.close()


def ledger_ids(dsn: str) -> list[str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(f"SELECT event_id FROM {LEDGER_SCHEMA}.entries").fetchall()
    return [row[0] for row in rows]


def writer_pid(dsn: str) -> int | None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            f"SELECT holder FROM {LEDGER_SCHEMA}.job_leases"
            " WHERE job = 'ledger.writer' AND expires_at > now()"
        ).fetchone()
    return int(row[0].split(":")[1]) if row else None  # host:pid:random


class Chaos(threading.Thread):
    """Kills, at set numbers of confirms answered: a RabbitMQ node (restarted a little later),
    an escrow replica, then the ledger's writer."""

    def __init__(self, cluster: PlatformCluster, progress):
        super().__init__(daemon=True)
        self.cluster, self.progress = cluster, progress
        self.done: list[tuple[float, int, str]] = []
        self.error: BaseException | None = None
        self.writer_name = ""

    def at(self, confirms: int, what: str, action) -> None:
        wait_until(lambda: self.progress() >= confirms, timeout=600, interval=0.2, what=what)
        action()
        self.done.append((time.monotonic(), self.progress(), what))

    def run(self) -> None:
        try:
            self.at(200, "rabbit node 1 killed", lambda: self.cluster.rabbit.kill_node(0))
            self.at(500, "escrow-a SIGKILLed", lambda: self.cluster.shape.named("escrow-a").kill())
            self.at(550, "rabbit node 1 restarted", lambda: self.cluster.rabbit.restart_node(0))
            self.at(900, "ledger writer SIGKILLed", self.kill_writer)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def kill_writer(self) -> None:
        pid = writer_pid(self.cluster.pg.dsn(DATABASE))
        writer = next(c for c in self.cluster.shape.children if c.process and c.process.pid == pid)
        assert writer.name.startswith("ledger-"), writer.name
        self.writer_name = writer.name
        writer.kill()


def test_cluster_loses_nothing_while_a_node_a_replica_and_the_writer_die(tmp_path, monkeypatch):
    monkeypatch.setenv("LEDGER_LEASE_SECONDS", "6")
    var = tmp_path / "cluster"
    var.mkdir()
    cluster = PlatformCluster(var, [free_port(), free_port()])
    report: dict = {}
    try:
        started = time.monotonic()
        cluster.start()
        report["start_seconds"] = round(time.monotonic() - started, 1)
        gateways = cluster.shape.gateway_urls
        setup = Client(gateways)
        merchant_id = onboard_merchant(setup, fresh_uscc())
        merchant_token = setup.login("merchant", merchant_id)
        product = setup.post(f"/api/v1/merchants/{merchant_id}/products", PRODUCT, merchant_token)
        assert product.status_code == 201, product.text
        spenders = [
            Spender(Client(gateways, index=i), merchant_token, f"c-cluster-{i}")
            for i in range(CLIENTS)
        ]
        for spender in spenders:
            spender.buy(product.json()["product_id"])

        chaos = Chaos(cluster, lambda: sum(len(s.answers) for s in spenders))
        chaos.start()
        loaded = time.monotonic()
        errors = run_spenders(spenders, CONFIRMS // CLIENTS, AMOUNT)
        report["load_seconds"] = round(time.monotonic() - loaded, 1)
        chaos.join(timeout=60)
        report["chaos"] = [(round(t - loaded, 1), n, what) for t, n, what in chaos.done]
        clients = [s.client for s in spenders]
        report["retries"] = sum(c.retries for c in clients)
        report["5xx"] = sum(c.server_errors for c in clients)
        report["transport_errors"] = sum(c.transport_errors for c in clients)
        assert not errors, errors[:3]
        assert chaos.error is None and len(chaos.done) == 4, (chaos.error, chaos.done)

        # Every confirm answered once, each redemption confirmed once in the escrow's events.
        answered = [rid for s in spenders for rid in s.answers]
        assert len(answered) == len(set(answered)) == CONFIRMS
        owner = cluster.pg.dsn(DATABASE)
        escrow = all_events(owner, "escrow")
        confirmed = Counter(
            e.data["redemption_id"] for e in escrow if e.type == "escrow.RedemptionConfirmed.v1"
        )
        assert set(confirmed) == set(answered) and set(confirmed.values()) == {1}
        # Each spend request held once, though a killed replica's message ran again elsewhere.
        requested = Counter(
            e.data["redemption_id"] for e in escrow if e.type == "escrow.RedemptionRequested.v1"
        )
        report["redemptions_requested"] = sum(requested.values())
        assert set(requested) == set(answered) and set(requested.values()) == {1}

        # The money rule per card, from the card's own answer and from the events.
        for spender in spenders:
            card = setup.get(f"/api/v1/cards/{spender.card_id}", spender.consumer_token).json()
            released = sum(spender.confirmed.values())
            assert card["released_amount"] == released == 100 * (CONFIRMS // CLIENTS)
            assert (
                card["released_amount"] + card["refunded_amount"] + card["escrow_held"]
                == card["deposited"]
                == PRODUCT["price"]
            )
            in_events = sum(
                e.data["released_amount"]
                for e in escrow
                if e.type == "escrow.RedemptionConfirmed.v1"
                and e.data["card_id"] == spender.card_id
            )
            assert in_events == released

        # The bank's statement (its rows in the escrow schema) against the escrow's events.
        with psycopg.connect(owner, autocommit=True) as conn:
            movements = conn.execute(
                "SELECT kind, reference, account, amount FROM escrow.bank_movements"
            ).fetchall()
        deposits = {
            (e.data["payment_id"], e.data["card_id"], e.data["amount"])
            for e in escrow
            if e.type == "escrow.DepositConfirmed.v1"
        }
        assert {(r, a, m) for k, r, a, m in movements if k == "deposit"} == deposits
        assert len(deposits) == CLIENTS
        named = {str(v) for e in escrow for v in e.data.values()}
        assert all(reference in named for _, reference, _, _ in movements), movements

        # Every event of every store in the ledger exactly once, and the ledger verifies.
        def stored() -> set[str]:
            return {e.id for service in EVENT_SOURCED for e in all_events(owner, service)}

        wait_until(
            lambda: stored() == set(ledger_ids(owner)),
            timeout=240,
            interval=2,
            what="every stored event in the ledger",
        )
        ids = ledger_ids(owner)
        assert len(ids) == len(set(ids)) == len(stored())
        report["events"] = len(ids)
        vkey = (var / "ledger" / "keys" / "log.vkey").read_text()
        assert cluster.db is not None
        verified = verify_ledger(
            cluster.db.url("postgres", schema=LEDGER_SCHEMA), [Verifier.from_vkey(vkey)]
        )
        assert verified.ok, verified
        # The fail-over shared no directory: each replica's LEDGER_DIR holds keys only.
        assert not list(var.rglob("ledger.db")) and not list((var / "ledger").rglob("*.lock"))
        for replica in ("a", "b"):
            ledger_dir = var / "ledger" / replica / "ledger-dir"
            files = [p.relative_to(ledger_dir) for p in ledger_dir.rglob("*") if p.is_file()]
            assert files and all(p.parts[0] == "keys" for p in files), files
        # Nothing restarts a process here: every one not killed on purpose rode out the
        # broker node's death by failing over to another node.
        killed = {"escrow-a", chaos.writer_name}
        dead = [c.name for c in cluster.shape.children if c.exit_code() is not None]
        assert set(dead) == killed, dead
        logs = {c.name: (var / "log" / f"{c.name}.log") for c in cluster.shape.children}
        assert "writer lease taken" in logs["ledger-a"].read_text()
        assert "writer lease taken" in logs["ledger-b"].read_text(), "the standby took over"
    finally:
        (tmp_path / "cluster-report.json").write_text(json.dumps(report, indent=2))
        print("cluster test:", json.dumps(report))
        cluster.stop()
