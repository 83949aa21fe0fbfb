"""`python -m platformrun.relay --service escrow --store-url ... --amqp-uri ...`

One service's outbox relay (messaging.relay), declaring by default the queues every handler of
the platform consumes its events from: knowing those is composition, hence here."""

from __future__ import annotations

import argparse
import logging
import os
import signal
from typing import Any

from prometheus_client import REGISTRY

from eventstore.factory import open_event_log
from messaging import logs, probes
from messaging.relay import OutboxRelay
from messaging.relay_metrics import LIVE_STALE_AFTER, RelayCollector, relay_checks
from messaging.topology import parse_binding
from platformrun.registry import bindings_of
from policy import load_policy


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
    args = parser.parse_args(argv)
    if not (args.store_url and args.amqp_uri):
        parser.error("--store-url and --amqp-uri (or STORE_URL and AMQP_URI) are required")
    if not args.bind:
        args.bind = bindings_of(args.service)
    logs.configure(f"{args.service}-relay")
    logging.getLogger("pika").setLevel(logging.WARNING)

    store = open_event_log(args.store_url)
    policy = load_policy(os.environ.get("POLICY_FILE") or None)
    relay = OutboxRelay(
        store,
        args.service,
        args.amqp_uri,
        bindings=args.bind,
        batch_size=args.batch_size,
        max_in_flight=args.max_in_flight,
        rules=policy.relay,
        queue_rules=policy.consumers,
    )
    server = collector = None
    if args.metrics_port:
        # The scrapes' own store, opened once: one connection is all a scrape uses.
        small: dict[str, Any] = (
            {"pool_size": 1} if args.store_url.startswith(("postgresql:", "postgres:")) else {}
        )
        collector = RelayCollector(
            relay, lambda: open_event_log(args.store_url, **small), args.amqp_uri
        )
        REGISTRY.register(collector)
        live, ready = relay_checks(relay, args.live_stale_after)
        server = probes.serve_in_thread(
            args.metrics_host, args.metrics_port, probes.probe_app(live, ready)
        )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: relay.stop())
    try:
        relay.run()
    finally:
        if server is not None:
            server.shutdown()
        if collector is not None:
            collector.close()
        store.close()


if __name__ == "__main__":
    main()
