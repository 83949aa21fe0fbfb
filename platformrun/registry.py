"""The platform's nameko services, and the queues their event handlers consume.

Composition: it names every service's class, so it sits above them all, and the commands that
need every service's bindings (the relay, the parked-event tool) take them from here.
"""

from __future__ import annotations

import importlib

from messaging.topology import QueueBinding, ServiceClass, subscriptions_of

SERVICE_CLASSES = {
    "merchant": "services.merchant.service:MerchantService",
    "escrow": "services.escrow.service:EscrowService",
    "risk": "services.risk.service:RiskService",
    "inspection": "services.inspection.service:InspectionService",
    "ledger": "ledger.service:LedgerService",
}
"""`module:Class` as `nameko run` takes it, by service name (services.service_names's order)."""

EVENT_SOURCED = ("merchant", "escrow", "risk", "inspection")
"""The services that own an event store, and so run an outbox relay."""


def service_classes() -> dict[str, ServiceClass]:
    found = {}
    for name, path in SERVICE_CLASSES.items():
        module, _, cls = path.partition(":")
        found[name] = getattr(importlib.import_module(module), cls)
    return found


def all_bindings() -> list[QueueBinding]:
    """Every queue a relay must declare: the nameko event handlers' and the ledger's."""
    # Imported here: the launcher reads this module and needs no nameko service loaded.
    from ledger.service import NOTARISED_SOURCES, NOTARY_QUEUE

    handlers = [b for cls in service_classes().values() for b in subscriptions_of(cls)]
    notary = [QueueBinding(NOTARY_QUEUE, source, "#") for source in NOTARISED_SOURCES]
    return handlers + notary


def bindings_of(service: str) -> list[QueueBinding]:
    """The queues the events of `service` are meant for."""
    return [b for b in all_bindings() if b.source_service == service]


def platform_queues() -> list[str]:
    """Every durable queue of the platform: what `platformrun.migrate_queues` brings to the
    policy's arguments, and whose parking queues `messaging.parked.parked_depths` counts."""
    return sorted({binding.queue for binding in all_bindings()})
