"""The ledger nameko service: notarises every integration event and serves proofs.

Every source service's exchange is bound, with `#`, to one durable queue. Handlers hand their
event to a single writer greenthread and wait; the writer takes whatever has queued up (up to
LEDGER_BATCH_MAX) and appends it in one transaction with one signed checkpoint (group
commit: one fsync per batch). A handler returns, and its message is acked, only once its
batch is durable; an error requeues the whole batch's messages. Duplicates (redeliveries)
find their event id already in the ledger and are not appended again.

One writer: the process first takes the writer lease (`ledger.writer`): config
LEDGER_LEASE_URL, a `postgresql://…?schema=` URL for a lease row renewed every
LEDGER_LEASE_SECONDS/3 (default 15 s), else a file lock on LEDGER_DIR/ledger.writer.lock.
Until it holds the lease a standby process only waits: it opens no ledger, starts no
consumer and answers no RPC, so it never takes events it cannot append. When the holder dies
(the kernel drops its file lock at once; its lease row expires) the standby takes over, opens
the ledger and consumes the queue, where unacked messages of the dead holder were requeued.
Holders of a lease row check it before each batch and stop the process once they cannot
renew it.

Where the ledger lives (ledger/bootstrap.py): with LEDGER_URL (`postgresql://…?schema=ledger`,
migrated by `python -m platformrun.migrate`) in PostgreSQL, so the standby may run on another
machine: put the lease row there too (LEDGER_LEASE_URL, the same URL) and give every ledger
process the same keys (LEDGER_DIR/keys, a mounted secret), its only files. Without LEDGER_URL
the ledger is the SQLite file LEDGER_DIR/ledger.db, and both processes must see the same
LEDGER_DIR (one machine or one volume). Either way a batch first checks the stored size, so
a holder that lost its lease unnoticed cannot give out an index twice (ledger/log.py).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path

from kombu import Exchange, Queue, binding
from nameko.extensions import DependencyProvider

from ledger.bootstrap import build_notary, load_keys
from ledger.notary import Notary
from messaging.consumer import PlatformQueueConsumer
from messaging.observability import ObservabilityDependency
from messaging.wire import exchange_name
from services.job_lock import JobLock, open_job_locks
from services.rpc import rpc

log = logging.getLogger("ledger.service")

NOTARY_QUEUE = "ledger.notary"
NOTARISED_SOURCES = ("merchant", "escrow", "risk", "inspection")
WRITER_LEASE = "ledger.writer"


class WriterLeaseLost(RuntimeError):
    """The writer lease could not be renewed: this process must append no more."""


def writer_lease(config: dict) -> tuple[JobLock, float]:
    """The lock the ledger's writer holds, and its lease length in seconds."""
    ttl = float(config.get("LEDGER_LEASE_SECONDS", 15))
    url = (
        config.get("LEDGER_LEASE_URL")
        or f"file://{Path(config.get('LEDGER_DIR', 'var/ledger')).resolve()}"
    )
    return open_job_locks(url, ttl=ttl), ttl


def notary_queue(sources=NOTARISED_SOURCES) -> Queue:
    return Queue(
        NOTARY_QUEUE,
        durable=True,
        bindings=[
            binding(Exchange(exchange_name(source), type="topic", durable=True), routing_key="#")
            for source in sources
        ],
    )


class _Waiter:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.index: int | None = None
        self.error: BaseException | None = None


class NotaryWriter(DependencyProvider):
    """Owns the notary, its single writer and the witness cosigning loop."""

    def setup(self) -> None:
        config = self.container.config
        self.batch_max = int(config.get("LEDGER_BATCH_MAX", 500))
        keys = load_keys(config)  # missing ones fail a standby now, not when it takes over
        self.lease, self.lease_ttl = writer_lease(config)
        self.lease_until = self._take_lease()
        self.notary: Notary = build_notary(config, keys)
        self.pending: queue.Queue = queue.Queue()
        self.cosign_wanted = threading.Event()
        self.stopping = threading.Event()

    def _take_lease(self) -> float:
        """Waits until this process holds the writer lease; until when (monotonic) it is
        surely held."""
        waited = False
        while True:
            asked = time.monotonic()
            try:
                if self.lease.acquire(WRITER_LEASE):
                    log.info("ledger writer lease taken")
                    return asked + self.lease_ttl * 0.8
            except Exception:  # noqa: BLE001 - the lease's database is away: ask again
                log.warning("the ledger writer lease could not be asked for", exc_info=True)
            if not waited:
                log.info("standby: another ledger process holds the writer lease; waiting")
                waited = True
            time.sleep(min(1.0, self.lease_ttl / 3))

    def _renew_lease(self) -> None:
        while not self.stopping.wait(self.lease_ttl / 3):
            asked = time.monotonic()
            try:
                held = self.lease.renew(WRITER_LEASE)
            except Exception:  # noqa: BLE001 - ask again; past lease_until no batch is written
                log.warning("the ledger writer lease could not be renewed; asking again")
                continue
            if not held:
                self.lease_until = 0.0
                raise WriterLeaseLost("the ledger writer lease was lost; stopping")
            self.lease_until = asked + self.lease_ttl * 0.8

    def start(self) -> None:
        self.container.spawn_managed_thread(self._renew_lease)
        self.container.spawn_managed_thread(self._write_loop)
        self.container.spawn_managed_thread(self._cosign_loop)
        self.cosign_wanted.set()

    def stop(self) -> None:
        self.stopping.set()
        self.pending.put(None)
        self.cosign_wanted.set()

    def kill(self) -> None:
        self.stop()

    def submit(self, payload: dict) -> int:
        waiter = _Waiter()
        self.pending.put((payload, waiter))
        waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error
        if waiter.index is None:  # the writer sets one or the other before `done`
            raise RuntimeError("the ledger writer answered with neither an index nor an error")
        return waiter.index

    def _write_loop(self) -> None:
        while True:
            first = self.pending.get()
            if first is None:  # stopping: the lease goes once no batch can be under way
                self.lease.release(WRITER_LEASE)
                self.lease.close()
                return
            batch = [first]
            while len(batch) < self.batch_max:
                try:
                    item = self.pending.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self.pending.put(None)
                    break
                batch.append(item)
            try:
                if time.monotonic() >= self.lease_until:
                    raise WriterLeaseLost("the ledger writer lease is not surely held")
                indexes = self.notary.notarise([payload for payload, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every waiter gets it and requeues
                log.exception("notarising a batch of %d failed", len(batch))
                for _, waiter in batch:
                    waiter.error = exc
                    waiter.done.set()
                continue
            for (_, waiter), index in zip(batch, indexes, strict=True):
                waiter.index = index
                waiter.done.set()
            self.cosign_wanted.set()

    def _cosign_loop(self) -> None:
        while not self.stopping.is_set():
            self.cosign_wanted.wait(timeout=2.0)
            self.cosign_wanted.clear()
            if self.stopping.is_set():
                return
            try:
                if self.notary.cosign_latest():
                    self.stopping.wait(1.0)  # a witness refused or is down: retry gently
                    self.cosign_wanted.set()
            except Exception:  # noqa: BLE001 - the loop must outlive a bad witness answer
                log.exception("cosigning failed")

    def get_dependency(self, worker_ctx) -> NotaryWriter:
        return self


class LedgerService:
    name = "ledger"
    writer = NotaryWriter()
    observability = ObservabilityDependency()

    @PlatformQueueConsumer.decorator(notary_queue(), requeue_on_error=True)
    def notarise(self, payload: dict) -> None:
        self.writer.submit(payload)

    @rpc
    def checkpoint(self) -> dict | None:
        return self.writer.notary.checkpoint()

    @rpc
    def keys(self) -> dict:
        return self.writer.notary.keys()

    @rpc
    def entries(self, start: int, end: int) -> list[dict]:
        return self.writer.notary.entries(start, end)

    @rpc
    def merchant_entries(self, merchant_id: str, after: str, limit: int) -> dict:
        return self.writer.notary.merchant_entries(merchant_id, after, limit)

    @rpc
    def receipt(self, event_id: str, consumer_id: str | None = None) -> dict | None:
        return self.writer.notary.receipt(event_id, consumer_id)

    @rpc
    def consistency(self, first: int, second: int) -> list[str]:
        return self.writer.notary.consistency(first, second)

    @rpc
    def health(self) -> dict:
        notary = self.writer.notary
        published = notary.published()
        return {
            "status": "ok",
            "size": notary.ledger.size,
            "published_size": published.size if published else 0,
            "quorum": notary.quorum,
        }
