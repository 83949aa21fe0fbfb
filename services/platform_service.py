"""What every platform nameko service has: its own event store and a health entrypoint."""
from nameko.rpc import rpc

from messaging.consumer import EventStoreDependency
from messaging.health import store_health


class PlatformService:
    name: str
    store = EventStoreDependency()

    @rpc
    def health(self) -> dict:
        return store_health(self.store, self.name)
