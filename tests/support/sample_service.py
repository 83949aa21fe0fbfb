"""A real nameko service used by the messaging tests: it records each relayed event once."""

import os

from nameko.dependency_providers import Config
from nameko.rpc import rpc

from messaging.consumer import EventStoreDependency, consumes


class DeliveryLog:
    """Every delivery attempt, before the handler's transaction: shows redeliveries happened."""

    def __init__(self, path):
        self.path = path

    def note(self, event_id: str) -> int:
        with open(self.path, "a+") as log:
            log.write(event_id + "\n")
            log.seek(0)
            return sum(1 for line in log if line.strip() == event_id)


class Recorder:
    name = "recorder"
    store = EventStoreDependency()
    config = Config()

    @consumes("shop", "shop.Sold.v1")
    def on_sold(self, event, uow):
        attempts = DeliveryLog(self.config["DELIVERY_LOG"]).note(event.event_id)
        if attempts <= event.data.get("fail_times", 0):
            raise RuntimeError(f"failing on purpose, attempt {attempts}")
        if event.data.get("poison") and not os.path.exists(self.config.get("FIXED_FILE", "")):
            # A bug until the file exists; its message is far longer than a header may be.
            raise ValueError("cannot apply this sale: " + "原因" * 4000)
        previous = uow.get_view("sold", event.event_id) or {"applied": 0}
        uow.put_view(
            "sold",
            event.event_id,
            {
                "applied": previous["applied"] + 1,
                "position": event.position,
                "amount": event.data["amount"],
                "source": event.source,
            },
        )

    @rpc
    def ping(self):
        return "pong"
