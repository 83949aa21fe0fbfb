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
* The queue has the policy's arguments (messaging.queues: a quorum queue by default). A
  handler that has failed on one message `[consumers] delivery_limit` times parks it: the
  message, with its error, is published to `<queue>.parked` (confirmed by the broker) and
  only then acked, so the queue goes on; an ERROR log names the queue, the event and the
  error. `python -m messaging.park` lists, replays or drops parked messages.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import amqp.exceptions
from kombu import Connection, Queue
from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.events import SERVICE_POOL, EventHandler
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer

from eventstore.errors import AlreadyProcessed, store_unavailable
from eventstore.factory import StoreKeepsNoViews, open_store
from eventstore.port import EventStore
from eventstore.records import Tracking
from messaging import queues
from messaging.wire import IntegrationEvent
from policy import ConsumerRules, load_policy

log = logging.getLogger(__name__)

REDELIVERY_PAUSE = 0.2
STORE_RETRY_FIRST, STORE_RETRY_MOST = 0.2, 30.0


def while_store_is_away(apply: Callable[[], object], consumer: str, sleep=time.sleep) -> object:
    """Runs `apply`, again and again while it fails because the store is away (locked,
    disconnected: `store_unavailable`), waiting twice as long each time up to 30 s. The message
    stays with this worker meanwhile: returned to the queue, each try would count towards its
    delivery limit, and a short outage of the database would park every message it touched.
    Any other failure is the message's: it is raised at once."""
    pause = STORE_RETRY_FIRST
    while True:
        try:
            return apply()
        except Exception as exc:
            if not store_unavailable(exc):
                raise
            log.warning("%s: the store is away (%s); trying again in %.1f s", consumer, exc, pause)
        sleep(pause)
        pause = min(pause * 2, STORE_RETRY_MOST)


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

            def apply() -> None:
                with store.unit_of_work() as uow:
                    uow.track(Tracking(consumer, event.event_id))
                    fn(self, event, uow)

            try:
                while_store_is_away(apply, consumer)
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

        return ParkingEventHandler.decorator(
            source_service,
            event_type,
            handler_type=SERVICE_POOL,
            reliable_delivery=True,
            requeue_on_error=True,
        )(handler)

    return decorator


class ParkedMessagesDependency(DependencyProvider):
    """A function counting the parked messages of the service's own handler queues."""

    def setup(self) -> None:
        from messaging.topology import subscriptions_of

        self.amqp_uri = self.container.config[AMQP_URI_CONFIG_KEY]
        self.queues = [b.queue for b in subscriptions_of(self.container.service_cls)]

    def get_dependency(self, worker_ctx):
        from messaging.parked import parked_depths

        return lambda: parked_depths(self.amqp_uri, self.queues)


class QueueArgumentsMismatch(RuntimeError):
    """The broker has the queue with other arguments (406): the service does not start."""


def declare_platform_queue(amqp_uri: str, queue: str, rules: ConsumerRules) -> None:
    """Declares `queue` and its parking queue with the policy's arguments, or raises
    QueueArgumentsMismatch naming the queue and how to migrate it."""
    parked = queues.parked_queue_name(queue)
    wanted = [
        (parked, queues.parked_queue_arguments(rules)),
        (queue, queues.queue_arguments(queue, rules)),
    ]
    with Connection(amqp_uri) as connection:
        for name, arguments in wanted:
            channel = connection.channel()
            try:
                # A bare declare: the consumer binds it to its exchange afterwards.
                Queue(name, durable=True, queue_arguments=arguments).bind(channel).declare()
            except amqp.exceptions.PreconditionFailed as exc:
                raise QueueArgumentsMismatch(
                    f"{queues.inequivalent_hint(name, rules)} (broker said: {exc})"
                ) from None
            finally:
                if channel.is_open:
                    channel.close()


class PlatformQueueConsumer(Consumer):
    """nameko's `@consume` on a platform queue: declared with the policy's arguments (and its
    parking queue, where the broker dead-letters a message past the delivery limit)."""

    def setup(self) -> None:
        config = self.container.config
        rules = load_policy(config.get("POLICY_FILE")).consumers
        self.queue.queue_arguments = queues.queue_arguments(self.queue.name, rules)
        declare_platform_queue(config[AMQP_URI_CONFIG_KEY], self.queue.name, rules)
        super().setup()


class ParkingEventHandler(EventHandler):
    """nameko's `@event_handler` on a queue with the policy's arguments, that parks a message
    its handler has failed on `delivery_limit` times instead of requeueing it for ever."""

    def setup(self) -> None:
        super().setup()  # names self.queue; the queue consumer declares it later
        config = self.container.config
        self.rules = load_policy(config.get("POLICY_FILE")).consumers
        self.queue.queue_arguments = queues.queue_arguments(self.queue.name, self.rules)
        self.parked_queue = queues.parked_queue_name(self.queue.name)
        declare_platform_queue(config[AMQP_URI_CONFIG_KEY], self.queue.name, self.rules)
        self.parker = Publisher(config[AMQP_URI_CONFIG_KEY], use_confirms=True, mandatory=True)
        self.failures: dict[str, int] = {}  # event id -> failures seen here (classic queues)

    def handle_message_processed(self, message, result=None, exc_info=None) -> None:
        key = _event_id(message)
        if exc_info is None or not self.requeue_on_error:
            self.failures.pop(key, None)
            return super().handle_message_processed(message, result, exc_info)
        # A quorum queue counts the deliveries that came back; a classic one does not, so the
        # handler also counts what it saw itself.
        self.failures[key] = self.failures.get(key, 0) + 1
        failures = max(queues.failures_so_far(message.headers) + 1, self.failures[key])
        if failures < self.rules.delivery_limit:
            return self.queue_consumer.requeue_message(message)
        try:
            self._park(message, exc_info[1], failures)
        except Exception:
            log.exception("%s: parking event %s failed; requeued", self.queue.name, key)
            return self.queue_consumer.requeue_message(message)
        self.failures.pop(key, None)
        self.queue_consumer.ack_message(message)

    def _park(self, message, exc: BaseException, failures: int) -> None:
        headers = dict(message.headers or {})
        headers.update(queues.error_headers(exc, self.rules))
        headers.update(
            {
                queues.PARKED_FROM: self.queue.name,
                queues.PARKED_FAILURES: failures,
                queues.PARKED_AT: datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        properties = message.properties or {}
        self.parker.publish(
            message.body,
            exchange="",
            routing_key=self.parked_queue,
            headers=headers,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            **{k: properties[k] for k in ("message_id", "correlation_id") if k in properties},
        )
        log.error(
            "%s: parked event %s (%s) after %d failed deliveries: %s: %s;"
            " python -m messaging.park list --queue %s",
            self.queue.name,
            _event_id(message),
            headers.get("event_type") or _body_field(message, "type"),
            failures,
            headers[queues.PARKED_ERROR_TYPE],
            headers[queues.PARKED_ERROR],
            self.queue.name,
        )


def _body_field(message, name: str) -> str:
    try:
        payload = message.decode()
    except Exception:  # noqa: BLE001 - an undecodable body still parks
        return ""
    return str(payload.get(name, "")) if isinstance(payload, dict) else ""


def _event_id(message) -> str:
    return (message.headers or {}).get("event_id") or _body_field(message, "event_id")
