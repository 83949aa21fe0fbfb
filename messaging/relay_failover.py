"""What lets outbox relays stand in for each other: several broker nodes, one publisher lease.

A relay (messaging.relay.OutboxRelay) is given every node of a RabbitMQ cluster,
`amqp://a;amqp://b` (`broker_uris`), and moves to the next when its connection fails or drops.

One relay of a service publishes at a time.

Two relays of one service publishing at once would each publish every event (consumers
dedupe, but the broker carries all twice) and their saved positions would overtake each other.
A relay given a lease (messaging.relay.OutboxRelay `lease=`) therefore publishes only while it
holds the lease `relay.<service>` on its store's job locks (services/job_lock.py: a lease row
in the service's PostgreSQL schema, or a file lock beside a SQLite store), the shape of the
ledger's writer lease. Another replica waits as a standby (its loop beating, so it is live;
ready too, since waiting is its job) and takes over when the holder dies: at once with a file
lock, at the lease's expiry with a row. A holder that cannot renew its lease before it expires
stops publishing (its supervisor starts it again, as a standby). An overlap at a hand-over can
only publish some events twice, which consumers already dedupe (the relay is at-least-once).

The locks are passed in (anything with acquire/renew/release/close): the relay is below the
services in the layers, and which store's locks to use is the composition's choice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

log = logging.getLogger("relay")

RENEW_MARGIN = 0.8
"""A lease unrenewed for this share of its length is given up before it can expire."""


class StopFlag:
    """Asked to stop: a plain attribute, so a signal handler may set it (`threading.Event`
    takes a lock, and a signal arriving while its own thread held it would deadlock)."""

    def __init__(self) -> None:
        self.asked = False

    def set(self) -> None:
        self.asked = True

    def is_set(self) -> bool:
        return self.asked

    def wait(self, seconds: float) -> bool:
        """Sleeps up to `seconds` (less once asked); True once asked."""
        deadline = time.monotonic() + seconds
        while not self.asked and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.05, left))
        return self.asked


def broker_uris(amqp_uri: str | Sequence[str]) -> list[str]:
    """`amqp://a;amqp://b` (kombu's list of a cluster's nodes) or a list, as a list."""
    uris = amqp_uri.split(";") if isinstance(amqp_uri, str) else list(amqp_uri)
    uris = [uri.strip() for uri in uris if uri.strip()]
    if not uris:
        raise ValueError("no broker URI")
    return uris


class LeaseLocks(Protocol):
    def acquire(self, job: str) -> bool: ...

    def renew(self, job: str) -> bool: ...

    def release(self, job: str, hold_for: float = 0.0) -> None: ...

    def close(self) -> None: ...


def _sleep(seconds: float, stopped: Callable[[], bool], beat: Callable[[], None]) -> bool:
    """Sleeps up to `seconds` in short steps, beating; True once `stopped()`."""
    deadline = time.monotonic() + seconds
    while not stopped() and (left := deadline - time.monotonic()) > 0:
        beat()
        time.sleep(min(0.2, left))
    return stopped()


class PublisherLease:
    """The lease `relay.<service>` on `locks`, `ttl` seconds long, renewed every ttl/3."""

    def __init__(self, locks: LeaseLocks, service: str, ttl: float):
        self.locks, self.job, self.ttl = locks, f"relay.{service}", ttl
        self.held = False
        self.lost = False
        """The lease was lost or could not be renewed in time: publishing stopped."""

    def wait(self, stopped: Callable[[], bool], beat: Callable[[], None]) -> bool:
        """Waits, beating, until this process holds the lease; False when stopped first."""
        said = False
        while not stopped():
            beat()
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
            _sleep(min(1.0, self.ttl / 3), stopped, beat)
        return False

    def keep(self, stopped: Callable[[], bool], stop_publishing: Callable[[], None]) -> None:
        """Renews the lease every ttl/3 until `stopped()`; calls `stop_publishing` once the
        lease is lost or, unrenewed, reaches RENEW_MARGIN of its length (another replica may
        then take it)."""
        held_until = time.monotonic() + self.ttl * RENEW_MARGIN
        # Wake at the next renewal or at the margin, whichever is first: on the ttl/3 beat
        # alone, failed renewals would be noticed only at the expiry itself.
        while not _sleep(min(self.ttl / 3, held_until - time.monotonic()), stopped, lambda: None):
            asked = time.monotonic()
            try:
                if self.locks.renew(self.job):
                    held_until = asked + self.ttl * RENEW_MARGIN
                    continue
                log.error("relay lease %s lost: stopping", self.job)
            except Exception:  # noqa: BLE001 - ask again until the lease would expire
                if time.monotonic() < held_until:
                    log.warning("relay lease %s could not be renewed; asking again", self.job)
                    continue
                log.error("relay lease %s could not be renewed in time: stopping", self.job)
            self.lost, self.held = True, False
            stop_publishing()
            return

    def release(self) -> None:
        """Gives the lease up (a standby takes it at once) and closes the locks."""
        try:
            if self.held:
                self.locks.release(self.job)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            log.warning("relay lease %s not released; it expires by itself", self.job)
        finally:
            self.held = False
            self.locks.close()
