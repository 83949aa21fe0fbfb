"""What every platform nameko service has: its own event store, which keeps views beside the
events (SQLite or PostgreSQL; an EventStoreDB URL is refused at start), a health entrypoint,
and its JSON logs, metrics and probes (messaging/observability.py)."""

from messaging.consumer import EventStoreDependency
from messaging.health import store_health
from messaging.observability import ObservabilityDependency
from services.dependencies import PolicyDependency
from services.rpc import rpc


class PlatformService:
    name: str
    store = EventStoreDependency()
    policy = PolicyDependency()
    observability = ObservabilityDependency()

    @rpc
    def health(self) -> dict:
        return store_health(self.store, self.name, self.policy.relay)
