"""`python -m platformrun.relay --service escrow --store-url ... --amqp-uri ...`

One service's outbox relay (messaging.relay), declaring by default the queues every handler of
the platform consumes its events from: knowing those is composition, hence here.

Two relays of one service must not publish at once: each would publish every event (consumers
dedupe, but the broker carries all twice) and their saved positions would overtake each other.
A relay therefore publishes only while it holds the lease `relay.<service>` on its store's job
locks (services/job_lock.py: a lease row in the service's PostgreSQL schema, or a file lock
beside a SQLite store), the shape of the ledger's writer lease. A second replica waits as a
standby (alive for /livez, and ready for /readyz: waiting is its job) and takes over when the
holder dies: at once with a file lock, at the lease's expiry (RELAY_LEASE_SECONDS, 15 s) with
a row. A holder that cannot renew its lease before it expires stops publishing and exits (its
supervisor starts it again, as a standby). An overlap at a hand-over can only publish some
events twice, which consumers already dedupe (the relay is at-least-once by design).

`--amqp-uri` may list several nodes of a cluster, `amqp://a;amqp://b` (as kombu reads it):
the relay connects to the first and moves to the next each time a connection fails or drops."""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

import pika
from prometheus_client import REGISTRY

from eventstore.factory import open_event_log
from messaging import logs, probes
from messaging.relay import OutboxRelay
from messaging.relay_metrics import LIVE_STALE_AFTER, RelayCollector, relay_checks
from messaging.topology import parse_binding
from platformrun.registry import bindings_of
from policy import load_policy
from services.job_lock import JobLock, open_job_locks

log = logging.getLogger("relay")


class FailoverRelay(OutboxRelay):
    """An outbox relay that moves to the next of several broker URIs whenever its connection
    fails or drops (the relay reconnects after `reconnect_delay` on its own)."""

    def __init__(self, store, service: str, amqp_uris: list[str], **options: Any):
        super().__init__(store, service, amqp_uris[0], **options)
        self.amqp_uris = amqp_uris
        self._next = itertools.cycle(range(len(amqp_uris)))
        self.current_uri = amqp_uris[next(self._next)]

    def _switch(self) -> None:
        if len(self.amqp_uris) > 1 and not self._stopping.is_set():
            self.current_uri = self.amqp_uris[next(self._next)]
            self.parameters = pika.URLParameters(self.current_uri)

    def _on_connection_failed(self, connection, error) -> None:
        super()._on_connection_failed(connection, error)
        self._switch()

    def _on_connection_closed(self, connection, reason) -> None:
        super()._on_connection_closed(connection, reason)
        self._switch()


class StopFlag:
    """Set by the signal handler, which must take no lock (`threading.Event.set()` takes one,
    and a second signal arriving while the first was handled could deadlock on it)."""

    def __init__(self) -> None:
        self.asked = False

    def sleep(self, seconds: float) -> bool:
        """Sleeps up to `seconds`; True once a stop was asked for."""
        deadline = time.monotonic() + seconds
        while not self.asked and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.2, left))
        return self.asked


class PublisherLease:
    """The lease `relay.<service>`: one relay of a service publishes at a time."""

    def __init__(self, locks: JobLock, service: str, ttl: float):
        self.locks, self.job, self.ttl = locks, f"relay.{service}", ttl
        self.lost = False
        self.held = False

    def wait(self, relay: OutboxRelay, stopping: StopFlag) -> bool:
        """Waits (beating the relay's heartbeat, so /livez holds) until this process holds
        the lease; False when stopped first."""
        said = False
        while not stopping.asked:
            relay.heartbeat = time.monotonic()
            try:
                if self.locks.acquire(self.job):
                    log.info("relay lease %s taken: publishing", self.job)
                    self.held = True
                    return True
            except Exception:  # noqa: BLE001 - the lease's database is away: ask again
                log.warning("relay lease %s could not be asked for", self.job, exc_info=True)
            if not said:
                log.info("standby: another relay holds %s; waiting", self.job)
                said = True
            stopping.sleep(min(1.0, self.ttl / 3))
        return False

    def keep(self, relay: OutboxRelay, stopping: StopFlag) -> None:
        """Renews the lease every ttl/3; stops the relay once it is lost or about to expire
        unrenewed (another replica may then take it)."""
        held_until = time.monotonic() + self.ttl * 0.8
        while not stopping.sleep(self.ttl / 3):
            asked = time.monotonic()
            try:
                if self.locks.renew(self.job):
                    held_until = asked + self.ttl * 0.8
                    continue
                log.error("relay lease %s lost: stopping", self.job)
            except Exception:  # noqa: BLE001 - ask again until the lease would expire
                if time.monotonic() < held_until:
                    log.warning("relay lease %s could not be renewed; asking again", self.job)
                    continue
                log.error("relay lease %s could not be renewed in time: stopping", self.job)
            self.lost, self.held = True, False
            relay.stop()
            return


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
    amqp_uris = [uri for uri in args.amqp_uri.split(";") if uri]
    relay = FailoverRelay(
        store,
        args.service,
        amqp_uris,
        bindings=args.bind,
        batch_size=args.batch_size,
        max_in_flight=args.max_in_flight,
        rules=policy.relay,
        queue_rules=policy.consumers,
    )
    locks = open_job_locks(args.store_url, ttl=args.lease_seconds)
    lease = PublisherLease(locks, args.service, args.lease_seconds)
    server = collector = None
    if args.metrics_port:
        # The scrapes' own store, opened once: one connection is all a scrape uses.
        small: dict[str, Any] = (
            {"pool_size": 1} if args.store_url.startswith(("postgresql:", "postgres:")) else {}
        )
        collector = RelayCollector(
            relay, lambda: open_event_log(args.store_url, **small), relay.current_uri
        )
        REGISTRY.register(collector)
        live, publisher_ready = relay_checks(relay, args.live_stale_after)

        def ready() -> list[str]:
            # A standby is doing its job by waiting: ready, or a rolling update that waits
            # for readiness would never get past it.
            return publisher_ready() if lease.held else []

        server = probes.serve_in_thread(
            args.metrics_host, args.metrics_port, probes.probe_app(live, ready)
        )
    stopping = StopFlag()

    def stop(*_: Any) -> None:
        stopping.asked = True
        relay.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    try:
        if lease.wait(relay, stopping):
            keeper = threading.Thread(target=lease.keep, args=(relay, stopping), daemon=True)
            keeper.start()
            relay.run()
    finally:
        stopping.asked = True
        try:
            lease.locks.release(lease.job)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            log.warning("relay lease %s not released; it expires by itself", lease.job)
        lease.locks.close()
        if server is not None:
            server.shutdown()
        if collector is not None:
            collector.close()
        store.close()

    if lease.lost:
        sys.exit(3)


if __name__ == "__main__":
    main()
