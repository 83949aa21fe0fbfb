"""What every platform nameko service has: its own event store, which keeps views beside the
events (SQLite or PostgreSQL; an EventStoreDB URL is refused at start), and a health entrypoint."""

from messaging.consumer import EventStoreDependency
from messaging.health import store_health
from services.dependencies import PolicyDependency
from services.rpc import rpc


class PlatformService:
    name: str
    store = EventStoreDependency()
    policy = PolicyDependency()

    @rpc
    def health(self) -> dict:
        return store_health(self.store, self.name, self.policy.relay)
