"""What every platform nameko service has: its own event store, which keeps views beside the
events (SQLite or PostgreSQL; an EventStoreDB URL is refused at start), a health entrypoint
that also counts the messages its handlers parked, and its JSON logs, metrics and probes
(messaging/observability.py)."""

from messaging.consumer import EventStoreDependency, ParkedMessagesDependency
from messaging.health import consumer_health, store_health
from messaging.observability import ObservabilityDependency
from services.dependencies import PolicyDependency
from services.rpc import rpc


class PlatformService:
    name: str
    store = EventStoreDependency()
    policy = PolicyDependency()
    observability = ObservabilityDependency()
    parked_depths = ParkedMessagesDependency()

    @rpc
    def health(self) -> dict:
        health = store_health(self.store, self.name, self.policy.relay)
        try:
            health.update(consumer_health(self.parked_depths()))
        except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
            health.update(consumer_status="unknown", consumer_problems=[], broker=repr(exc))
        return health
