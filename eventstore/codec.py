"""Domain events (frozen dataclasses with a `TYPE` such as "merchant.ProductCreated.v1") to
and from the store's records. Types are stored by their stable name, never an import path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any, ClassVar, Protocol

from eventstore.records import NewEvent, RecordedEvent


def event_fields(event: Any) -> dict:
    """An event's fields as a new dict. Events are flat (decode builds no nested dataclasses),
    so this spares `dataclasses.asdict`'s deep copy, the main cost of recomputing every
    merchant's code."""
    return {f.name: getattr(event, f.name) for f in fields(event)}


class DomainEvent(Protocol):
    """A frozen dataclass with its stable type name."""

    TYPE: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, Any]]


class EventCodec:
    def __init__(self, event_classes: Iterable[type[DomainEvent]]):
        self._by_type = {cls.TYPE: cls for cls in event_classes}

    def encode(self, event: Any, metadata: dict | None = None) -> NewEvent:
        if type(event).TYPE not in self._by_type:
            raise TypeError(f"{type(event).__name__} is not registered with this codec")
        return NewEvent(type=event.TYPE, data=event_fields(event), metadata=metadata or {})

    def decode(self, record: RecordedEvent) -> Any:
        cls = self._by_type.get(record.type)
        if cls is None:
            raise LookupError(f"no event class for {record.type!r}")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in record.data.items() if k in names})
