"""`make run-cluster`: the production shape on this one machine.

A throwaway PostgreSQL (one database, a schema per service) migrated first by its owner
(`platformrun.migrate --grant <schema>=platform_app`), so every process runs as the role
`platform_app`, which may read and write but never CREATE; three RabbitMQ nodes clustered on
loopback (devenv/rabbit_cluster.py) with the platform's queues migrated to the policy's
arguments (quorum queues); then TWO replicas of every process: each service, each outbox relay
(one publishes, the other waits on the relay's lease: messaging/relay_failover.py), the ledger
(its entries in the schema `ledger`; a writer and a standby on the writer lease there, each
with its own LEDGER_DIR holding only a copy of the keys), and the gateway on two ports (a
load balancer or a Kubernetes Service fronts them in production). The bank's and the
regulator's witnesses are other parties' servers: one each, as in `make run`.

Every process is given every broker node, `amqp://a;amqp://b;amqp://c`, its list starting at
another node (RabbitCluster.uri_for), and moves to the next when its node dies. The brokers'
data, the logs and the keys live under CLUSTER_VAR (default var/cluster); PostgreSQL's data in
a directory of its own under /tmp (platform-cluster-pg-*: as root, PostgreSQL runs as the
postgres user, who must reach it through every parent). Both are emptied at start and removed
at stop: the broker's and the database's data go together, or messages confirmed to the broker
but not yet consumed would be lost. CLUSTER_VAR is emptied only if a previous run-cluster made
it (its marker file, VAR_MARKER, is there) or it is empty: CLUSTER_VAR=var would otherwise
wipe `make run`'s data. A child that dies is restarted; Ctrl-C stops everything.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from devenv.postgres import PostgresCluster
from devenv.rabbit_cluster import RabbitCluster
from devenv.secret_files import write_secret
from ledger.bootstrap import init_keys
from platformrun.migrate import MIGRATIONS
from platformrun.processes import (
    ROOT,
    Child,
    MetricsTargets,
    StopNow,
    StopSignals,
    gateway_child,
    migrate_queues,
    nameko_child,
    platform_env,
    relay_child,
    supervise,
    wait_healthy,
    witness_children,
)
from platformrun.registry import EVENT_SOURCED, SERVICE_CLASSES

log = logging.getLogger("platform")
RUNTIME_ROLE = "platform_app"
DATABASE = "platform"
REPLICAS = ("a", "b")
METRICS_TARGETS = "metrics-targets.json"
LEDGER_SCHEMA = "ledger"
VAR_MARKER = ".made-by-run-cluster"


@dataclass
class Database:
    """The platform's database: the owner's URL (migrations) and the runtime role's."""

    host: str
    port: int

    def url(self, user: str = RUNTIME_ROLE, schema: str = "", store: bool = False) -> str:
        url = f"postgresql://{user}@{self.host}:{self.port}/{DATABASE}"
        if schema:
            url += f"?schema={schema}" + ("&create=false" if store else "")
        return url


def prepare_database(pg: PostgresCluster) -> Database:
    """Creates the database and the runtime role, and migrates every schema (the ledger's
    with its lease table among them) as the owner, granting the role."""
    pg.create_database(DATABASE)
    db = Database("127.0.0.1", pg.port)
    with psycopg.connect(pg.dsn(DATABASE), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{RUNTIME_ROLE}" LOGIN')
    schemas = sorted(p.name for p in MIGRATIONS.iterdir() if p.is_dir())
    grants = [arg for schema in schemas for arg in ("--grant", f"{schema}={RUNTIME_ROLE}")]
    subprocess.run(
        [sys.executable, "-m", "platformrun.migrate", "--url", db.url("postgres"), *grants],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=300,
    )
    return db


def ledger_keys(var: Path) -> Path:
    """The ledger's keys, made once as `python -m ledger keys init` makes them (the log's key
    is already there: witness_children made it to give the witnesses its public half): what
    production mounts on every ledger replica as a Secret."""
    keys = var / "ledger" / "keys"
    init_keys(keys)
    return keys


def ledger_dir(var: Path, replica: str, keys: Path) -> Path:
    """A replica's own LEDGER_DIR holding only a copy of the keys: its entries and its writer
    lease are in PostgreSQL, so the replicas share no directory, as on two machines."""
    directory = var / "ledger" / replica / "ledger-dir"
    shutil.copytree(keys, directory / "keys", dirs_exist_ok=True)
    return directory


def ledger_config(directory: Path, db: Database, witnesses: list[dict]) -> dict:
    """A ledger replica's configuration: its entries and its writer lease in the schema
    `ledger` (the writer holds the lease, the other replica waits as a standby)."""
    return {
        "LEDGER_URL": db.url(schema=LEDGER_SCHEMA),
        "LEDGER_DIR": str(directory),
        "LEDGER_LEASE_URL": db.url(schema=LEDGER_SCHEMA),
        "LEDGER_LEASE_SECONDS": float(os.environ.get("LEDGER_LEASE_SECONDS") or 15),
        "WITNESSES": witnesses,
        "max_workers": 50,
    }


def service_config(service: str, var: Path, db: Database) -> dict:
    """A service's configuration, the same for both replicas: all its state in its schema."""
    config: dict = {"STORE_URL": db.url(schema=service, store=True)}
    if service in ("merchant", "risk"):
        config |= {"VAULT_URL": db.url(schema=service), "VAULT_KEK_FILE": str(var / "vault.kek")}
    if service == "escrow":
        config |= {
            "BANK_STATEMENT_URL": db.url(schema="escrow"),
            "BANK_STATEMENT_DIR": str(var / "bank" / "unused"),  # the URL wins; read anyway
            "BANK_ADAPTER": "simulated",
        }
    # A file both replicas read (made once, never replaced: services/key_files.py).
    config |= {
        "RISK_SIGNING_KEY": str(var / service / "signing.pem"),
        "INSPECTION_SIGNING_KEY": str(var / service / "signing.pem"),
    }
    return config


@dataclass
class ClusterShape:
    """Every child process of the cluster, by name, and where to reach the gateways."""

    children: list[Child] = field(default_factory=list)
    gateway_urls: list[str] = field(default_factory=list)

    def named(self, name: str) -> Child:
        return next(child for child in self.children if child.name == name)


def build_cluster(
    var: Path, db: Database, rabbit: RabbitCluster, gateway_ports: list[int]
) -> ClusterShape:
    log_dir = var / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    write_secret(var / "vault.kek", base64.b64encode(secrets.token_bytes(32)).decode())
    metrics = MetricsTargets()
    shape = ClusterShape()
    spread = iter(range(1000))  # each process's broker list starts at the next node

    def env() -> dict:
        return platform_env(var, rabbit.uri_for(next(spread)))

    for service in EVENT_SOURCED:
        (var / service).mkdir(parents=True, exist_ok=True)
        for replica in REPLICAS:
            name = f"{service}-relay-{replica}"
            child_env = env()
            store = db.url(schema=service, store=True)
            shape.children.append(
                relay_child(
                    name,
                    service,
                    store,
                    child_env["AMQP_URI"],
                    metrics.port(name),
                    child_env,
                    log_dir,
                )
            )
        for replica in REPLICAS:
            name, child_env = f"{service}-{replica}", env()
            data = var / service / replica
            data.mkdir(parents=True, exist_ok=True)
            config = service_config(service, var, db)
            config |= {"AMQP_URI": child_env["AMQP_URI"], "METRICS_PORT": metrics.port(name)}
            shape.children.append(
                nameko_child(name, SERVICE_CLASSES[service], config, data, child_env, log_dir)
            )
    witnesses, specs = witness_children(var, platform_env(var, rabbit.amqp_uri), log_dir, metrics)
    shape.children += witnesses
    keys = ledger_keys(var)
    for replica in REPLICAS:
        name, child_env = f"ledger-{replica}", env()
        data = var / "ledger" / replica
        data.mkdir(parents=True, exist_ok=True)
        config = ledger_config(ledger_dir(var, replica, keys), db, specs)
        config |= {"AMQP_URI": child_env["AMQP_URI"], "METRICS_PORT": metrics.port(name)}
        shape.children.append(
            nameko_child(name, SERVICE_CLASSES["ledger"], config, data, child_env, log_dir)
        )
    # One signing key file for both gateways: the first to start makes it, the other loads
    # that key (services/gateway/signing_key.py ensure), so a token from one is good at both.
    jwt_key = var / "gateway" / "jwt-ed25519.pem"
    for replica, port in zip(REPLICAS, gateway_ports, strict=True):
        name = f"gateway-{replica}"
        shape.children.append(
            gateway_child(
                name,
                env(),
                log_dir,
                PORT=str(port),
                METRICS_PORT=str(metrics.port(name)),
                GATEWAY_JWT_KEY_FILE=str(jwt_key),  # a token from one is good at the other
                GATEWAY_STATE_URL=db.url(schema="gateway"),
                GATEWAY_IDEMPOTENCY_DB=str(var / "gateway" / replica / "unused.db"),
                GATEWAY_REVOCATION_DB=str(var / "gateway" / replica / "unused-revoked.db"),
            )
        )
        shape.gateway_urls.append(f"http://127.0.0.1:{port}")
    metrics.write(var / METRICS_TARGETS)
    return shape


class PlatformCluster:
    """PostgreSQL, the RabbitMQ cluster and every child, started and stopped in order."""

    def __init__(self, var: Path, gateway_ports: list[int]):
        self.var = var
        self.gateway_ports = gateway_ports
        # In a directory of its own under /tmp: as root, PostgreSQL runs as the postgres user,
        # who must reach its data directory through every parent (a test's tmp_path is 0700).
        self.pg = PostgresCluster(Path(tempfile.mkdtemp(prefix="platform-cluster-pg-")))
        self.rabbit = RabbitCluster(var / "rabbitmq")
        self.shape = ClusterShape()
        self.db: Database | None = None

    def start(self, signals: StopSignals | None = None) -> PlatformCluster:
        log.info("starting PostgreSQL and migrating (%s)", self.pg.base_dir)
        self.pg.start()
        self.db = prepare_database(self.pg)
        log.info("starting three RabbitMQ nodes and clustering them")
        self.rabbit.start()
        migrate_queues(self.rabbit.nodes[0].amqp_uri)
        self.shape = build_cluster(self.var, self.db, self.rabbit, self.gateway_ports)
        for child in self.shape.children:
            child.start()
        for url in self.shape.gateway_urls:
            wait_healthy(f"{url}/healthz", timeout=180, stop=signals)
        return self

    def stop(self) -> None:
        # All asked at once, then waited for: one by one, 22 processes take a minute.
        for child in self.shape.children:
            if child.exit_code() is None and child.process is not None:
                child.process.send_signal(signal.SIGTERM)
        for child in reversed(self.shape.children):
            child.stop()
        self.rabbit.stop()
        self._stop_database()

    def kill(self) -> None:
        for child in self.shape.children:
            child.kill()
        self.rabbit.kill()
        self._stop_database()

    def _stop_database(self) -> None:
        self.pg.stop()
        # pg.stop() removes nothing when start() failed before PostgreSQL's data existed.
        shutil.rmtree(self.pg.base_dir, ignore_errors=True)


def empty_cluster_var(var: Path) -> None:
    """Empties `var` for a new run and marks it as run-cluster's; refuses a directory holding
    anything without the marker (someone else's data: CLUSTER_VAR=var is `make run`'s)."""
    if var.exists() and any(var.iterdir()) and not (var / VAR_MARKER).exists():
        raise SystemExit(
            f"CLUSTER_VAR={var} holds files that no run-cluster made (no {VAR_MARKER}):"
            " not deleting them; name an empty or new directory"
        )
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    (var / VAR_MARKER).write_text("made by `make run-cluster`: emptied at its next start\n")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    var = Path(os.environ.get("CLUSTER_VAR", ROOT / "var" / "cluster")).resolve()
    empty_cluster_var(var)
    first = int(os.environ.get("PORT", "8000"))
    signals = StopSignals()
    signals.install()
    cluster = PlatformCluster(var, [first, first + 1])
    try:
        try:
            cluster.start(signals)
            if not signals.count:
                urls = "   ".join(cluster.shape.gateway_urls)
                print(f"\nPlatform cluster is up. Gateways: {urls}")
                print(f"RabbitMQ nodes: {' '.join(n.node_name for n in cluster.rabbit.nodes)}")
                print(f"PostgreSQL: {cluster.pg.dsn(DATABASE)}")
                print(f"logs: {var / 'log'}   metrics: {var / METRICS_TARGETS}")
                print("Ctrl-C stops everything and removes its data.\n", flush=True)
            supervise(cluster.shape.children, signals)
        finally:
            if signals.count < 2:
                log.info("stopping (Ctrl-C again to kill everything at once)")
                cluster.stop()
                shutil.rmtree(var, ignore_errors=True)
                log.info("stopped")
    except StopNow:
        log.warning("second signal: killing every process now")
        cluster.kill()
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
