"""A platform service (its store, its health RPC) whose one handler fails on a poison sale:
what the parking tests read /healthz's consumer part from."""

from messaging.consumer import consumes
from services.platform_service import PlatformService


class Till(PlatformService):
    name = "till"

    @consumes("shop", "shop.Sold.v1")
    def on_sold(self, event, uow):
        if event.data.get("poison"):
            raise ValueError("cannot apply this sale")
        uow.put_view("sold", event.event_id, {"amount": event.data["amount"]})
