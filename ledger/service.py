"""The ledger nameko service: notarises every integration event and serves proofs.

Every source service's exchange is bound, with `#`, to one durable queue. Handlers hand their
event to a single writer greenthread and wait; the writer takes whatever has queued up (up to
LEDGER_BATCH_MAX) and appends it in one transaction with one signed checkpoint (group
commit: one fsync per batch). A handler returns, and its message is acked, only once its
batch is durable; an error requeues the whole batch's messages. Duplicates (redeliveries)
find their event id already in the ledger and are not appended again.
"""

from __future__ import annotations

import logging
import queue
import threading

from kombu import Exchange, Queue, binding
from nameko.extensions import DependencyProvider

from ledger.bootstrap import build_notary
from ledger.notary import Notary
from messaging.consumer import PlatformQueueConsumer
from messaging.observability import ObservabilityDependency
from messaging.wire import exchange_name
from services.rpc import rpc

log = logging.getLogger("ledger.service")

NOTARY_QUEUE = "ledger.notary"
NOTARISED_SOURCES = ("merchant", "escrow", "risk", "inspection")


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
        self.notary: Notary = build_notary(config)
        self.pending: queue.Queue = queue.Queue()
        self.cosign_wanted = threading.Event()
        self.stopping = threading.Event()

    def start(self) -> None:
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
            if first is None:
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
