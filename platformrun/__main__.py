"""`make run`: the whole platform on one machine, with embedded SQLite stores under ./var.

Starts a local RabbitMQ node (its data kept in var/rabbitmq; queues from an older version are
migrated to the policy's arguments first: platformrun.migrate_queues), then per service its
outbox relay and its nameko process, then the gateway; prints the URL once /healthz is green. A
child that dies is restarted. Ctrl-C (or SIGTERM) stops everything, the broker last; a second
Ctrl-C kills everything at once.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from devenv.rabbitmq import RabbitNode
from platformrun.processes import (
    ROOT,
    WITNESS_PARTIES,
    Child,
    MetricsTargets,
    StopNow,
    StopSignals,
    gateway_child,
    migrate_queues,
    nameko_child,
    platform_env,
    preferred_port,
    relay_child,
    supervise,
    wait_healthy,
    witness_children,
)
from platformrun.registry import EVENT_SOURCED, SERVICE_CLASSES

__all__ = ["WITNESS_PARTIES", "build_children", "main", "witness_children"]
log = logging.getLogger("platform")
METRICS_TARGETS = "metrics-targets.json"
"""Under var/: each process's /metrics URL, by process name."""


def build_children(var: Path, amqp_uri: str, http_port: int) -> list[Child]:
    env = platform_env(var, amqp_uri)
    log_dir = var / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    children = []
    metrics = MetricsTargets()
    for service in EVENT_SOURCED:
        data = var / service
        data.mkdir(parents=True, exist_ok=True)
        store_url = f"sqlite:///{data / 'events.db'}"
        name = f"{service}-relay"
        children.append(
            relay_child(name, service, store_url, amqp_uri, metrics.port(name), env, log_dir)
        )
        children.append(
            nameko_child(
                service,
                SERVICE_CLASSES[service],
                {
                    "AMQP_URI": amqp_uri,
                    "STORE_URL": store_url,
                    "VAULT_PATH": str(data / "vault.db"),
                    "RISK_SIGNING_KEY": str(data / "signing.pem"),
                    "INSPECTION_SIGNING_KEY": str(data / "signing.pem"),
                    "BANK_STATEMENT_DIR": str(var / "bank" / "statements"),
                    "BANK_ADAPTER": "simulated",
                    "METRICS_PORT": metrics.port(service),
                },
                data,
                env,
                log_dir,
            )
        )
    witnesses, specs = witness_children(var, env, log_dir, metrics)
    children += witnesses
    children.append(
        nameko_child(
            "ledger",
            SERVICE_CLASSES["ledger"],
            {
                "AMQP_URI": amqp_uri,
                "LEDGER_DIR": str(var / "ledger"),
                "WITNESSES": specs,
                "max_workers": 50,
                "METRICS_PORT": metrics.port("ledger"),
            },
            var / "ledger",
            env,
            log_dir,
        )
    )
    children.append(
        gateway_child(
            "gateway",
            env,
            log_dir,
            PORT=str(http_port),
            METRICS_PORT=str(metrics.port("gateway")),
            GATEWAY_JWT_KEY_FILE=str(var / "gateway" / "jwt-ed25519.pem"),
            GATEWAY_IDEMPOTENCY_DB=str(var / "gateway" / "idempotency.db"),
            GATEWAY_REVOCATION_DB=str(var / "gateway" / "revoked.db"),
        )
    )
    metrics.write(var / METRICS_TARGETS)
    return children


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    var = Path(os.environ.get("PLATFORM_VAR", ROOT / "var")).resolve()
    http_port = int(os.environ.get("PORT", "8000"))
    signals = StopSignals()
    signals.install()

    log.info("starting RabbitMQ (data in %s)", var / "rabbitmq")
    node = RabbitNode(
        var / "rabbitmq", node_name="prepaid@localhost", amqp_port=preferred_port(5672)
    )
    children: list[Child] = []
    try:
        try:
            node.start()
            migrate_queues(node.amqp_uri)
            children += build_children(var, node.amqp_uri, http_port)
            for child in children:
                child.start()
            url = f"http://127.0.0.1:{http_port}"
            health = wait_healthy(f"{url}/healthz", stop=signals)
            if not signals.count:
                print(
                    f"\nPlatform is up: {url}   (health: {url}/healthz, status {health['status']})"
                )
                print(
                    f"Pages: {url}/ (directory)   {url}/app/ (consumer)   "
                    f"{url}/merchant/ (merchant)   {url}/login (log in)"
                )
                print(
                    f"RabbitMQ: {node.amqp_uri}   logs: {var / 'log'}   "
                    f"metrics: {var / METRICS_TARGETS}   Ctrl-C stops everything.\n",
                    flush=True,
                )
            supervise(children, signals)
        finally:
            if signals.count < 2:
                log.info("stopping (Ctrl-C again to kill everything at once)")
                for child in reversed(children):
                    child.stop()
                node.stop()
                log.info("stopped")
    except StopNow:
        log.warning("second signal: killing every process now")
        for child in children:
            child.kill()
        node.kill()
        log.warning("killed")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
