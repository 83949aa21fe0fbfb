"""`python -m platformrun.relay --service escrow --store-url ... --amqp-uri ...`

One service's outbox relay (messaging.relay), declaring by default the queues every handler of
the platform consumes its events from: knowing those is composition, hence here. So is the
relay's publisher lease (messaging/relay_failover.py): `relay.<service>` on its store's job
locks (services/job_lock.py: a lease row in the service's PostgreSQL schema, or a file lock
beside a SQLite store), so that of several replicas one publishes and the others wait as
standbys, live and ready. A relay that lost its lease exits with status 3 (its supervisor
starts it again, as a standby).

`--amqp-uri` may list several nodes of a cluster, `amqp://a;amqp://b` (as kombu reads it):
the relay connects to the first and moves to the next each time a connection fails or drops."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Any

from prometheus_client import REGISTRY

from eventstore.factory import open_event_log
from messaging import logs, probes
from messaging.relay import OutboxRelay
from messaging.relay_failover import PublisherLease
from messaging.relay_metrics import LIVE_STALE_AFTER, RelayCollector, relay_checks
from messaging.topology import parse_binding
from platformrun.registry import bindings_of
from policy import load_policy
from services.job_lock import open_job_locks


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Publish a service's stored events to RabbitMQ")
    parser.add_argument("--service", required=True)
    parser.add_argument(
        "--store-url", default=os.environ.get("STORE_URL"), help="default: $STORE_URL"
    )
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI"), help="default: $AMQP_URI")
    parser.add_argument(
        "--bind",
        action="append",
        default=[],
        type=parse_binding,
        help="queue=source:routing_key to declare before publishing; default:"
        " the queues of the platform's handlers of this service's events",
    )
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--max-in-flight", type=int, default=2000)
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=int(os.environ.get("METRICS_PORT") or 0),
        help="serve /metrics, /livez and /readyz here; default $METRICS_PORT, 0: none",
    )
    parser.add_argument("--metrics-host", default=os.environ.get("METRICS_HOST", "127.0.0.1"))
    parser.add_argument(
        "--live-stale-after",
        type=float,
        default=float(os.environ.get("RELAY_LIVE_STALE_AFTER") or LIVE_STALE_AFTER),
        help="/livez fails when the relay's loop has turned no heartbeat for this many"
        " seconds; default $RELAY_LIVE_STALE_AFTER or %(default)s",
    )
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=float(os.environ.get("RELAY_LEASE_SECONDS") or 15),
        help="the publisher lease's length with a PostgreSQL store; default"
        " $RELAY_LEASE_SECONDS or %(default)s",
    )
    args = parser.parse_args(argv)
    if not (args.store_url and args.amqp_uri):
        parser.error("--store-url and --amqp-uri (or STORE_URL and AMQP_URI) are required")
    if not args.bind:
        args.bind = bindings_of(args.service)
    logs.configure(f"{args.service}-relay")
    logging.getLogger("pika").setLevel(logging.WARNING)

    store = open_event_log(args.store_url)
    policy = load_policy(os.environ.get("POLICY_FILE") or None)
    lease = PublisherLease(
        open_job_locks(args.store_url, ttl=args.lease_seconds), args.service, args.lease_seconds
    )
    relay = OutboxRelay(
        store,
        args.service,
        args.amqp_uri,
        bindings=args.bind,
        batch_size=args.batch_size,
        max_in_flight=args.max_in_flight,
        rules=policy.relay,
        queue_rules=policy.consumers,
        lease=lease,
    )
    server = collector = None
    if args.metrics_port:
        # The scrapes' own store, opened once: one connection is all a scrape uses.
        small: dict[str, Any] = (
            {"pool_size": 1} if args.store_url.startswith(("postgresql:", "postgres:")) else {}
        )
        collector = RelayCollector(relay, lambda: open_event_log(args.store_url, **small))
        REGISTRY.register(collector)
        server = probes.serve_in_thread(
            args.metrics_host,
            args.metrics_port,
            probes.probe_app(*relay_checks(relay, args.live_stale_after)),
        )

    def stop(*_: Any) -> None:
        relay.stop()  # takes no lock: safe here

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    try:
        relay.run()
    finally:
        if server is not None:
            server.shutdown()
        if collector is not None:
            collector.close()
        store.close()

    if lease.lost:
        sys.exit(3)


if __name__ == "__main__":
    main()
