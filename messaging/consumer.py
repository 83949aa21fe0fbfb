"""The idempotent consumer pattern for nameko services.

    class Stats:
        name = "stats"
        store = EventStoreDependency()

        @consumes("escrow", "escrow.CardPurchased.v1")
        def on_card_purchased(self, event: IntegrationEvent, uow: UnitOfWork):
            ...  # writes through `uow` only

* The queue is durable and shared by every replica (SERVICE_POOL, reliable delivery).
* The handler runs inside one unit of work that also records (consumer, event id): its
  effects and the dedupe record commit together, and the message is acked only afterwards.
* A redelivered event whose record exists is acked without running the handler again.
* A handler that raises rolls back and the message is requeued, never dropped (nameko's
  default would ack and drop it). A short pause first keeps a poison message from spinning.
"""

from __future__ import annotations

import functools
import logging
import time

from nameko.events import SERVICE_POOL, event_handler
from nameko.extensions import DependencyProvider

from eventstore.errors import AlreadyProcessed
from eventstore.factory import StoreKeepsNoViews, open_store
from eventstore.port import EventStore
from eventstore.records import Tracking
from messaging.wire import IntegrationEvent

log = logging.getLogger(__name__)

REDELIVERY_PAUSE = 0.2


class EventStoreDependency(DependencyProvider):
    """Opens the service's store from config `STORE_URL` at container start, closes it at stop.

    A service writes views in the same transaction as its events, so the store must keep views
    (SQLite or PostgreSQL): a log-only URL (esdb://) stops the container from starting."""

    def __init__(self, config_key: str = "STORE_URL"):
        self.config_key = config_key
        self.store: EventStore | None = None

    def setup(self) -> None:
        try:
            self.store = open_store(self.container.config[self.config_key])
        except StoreKeepsNoViews as exc:
            # The URL itself may carry a password: the message names its scheme only.
            raise StoreKeepsNoViews(
                f"service {self.container.service_name!r} cannot start on its"
                f" {self.config_key}: {exc}"
            ) from None

    def stop(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def get_dependency(self, worker_ctx) -> EventStore:
        if self.store is None:
            raise RuntimeError(f"{self.config_key}: the store is closed")  # only after stop()
        return self.store


def consumes(source_service: str, event_type: str, *, store_attr: str = "store"):
    """A nameko event handler that processes each event id at most once, atomically."""

    def decorator(fn):
        @functools.wraps(fn)
        def handler(self, payload: dict):
            event = IntegrationEvent.from_payload(payload)
            consumer = f"{self.name}.{fn.__name__}"
            store: EventStore = getattr(self, store_attr)
            try:
                with store.unit_of_work() as uow:
                    uow.track(Tracking(consumer, event.event_id))
                    fn(self, event, uow)
            except AlreadyProcessed:
                log.info(
                    "%s: event %s already processed; acking duplicate", consumer, event.event_id
                )
            except Exception:
                log.exception(
                    "%s: handling %s failed; it will be redelivered", consumer, event.event_id
                )
                time.sleep(REDELIVERY_PAUSE)
                raise

        return event_handler(
            source_service,
            event_type,
            handler_type=SERVICE_POOL,
            reliable_delivery=True,
            requeue_on_error=True,
        )(handler)

    return decorator
