class EventStoreError(Exception):
    """Base class of the event store's own errors."""


class ConcurrencyError(EventStoreError):
    """The stream is not at the expected version: someone else appended first."""

    def __init__(self, stream: str, expected: int, actual: int):
        super().__init__(f"stream {stream!r} is at version {actual}, expected {expected}")
        self.stream = stream
        self.expected = expected
        self.actual = actual


class AlreadyProcessed(EventStoreError):
    """The consumer has already recorded this event id: its effects are already stored."""

    def __init__(self, consumer: str, event_id: str):
        super().__init__(f"{consumer} already processed event {event_id}")
        self.consumer = consumer
        self.event_id = event_id


class StoreUnavailable(EventStoreError):
    """The backing database did not answer in time."""
