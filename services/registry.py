"""The platform's nameko services, and the queues their event handlers consume."""
from __future__ import annotations

from messaging.topology import QueueBinding, subscriptions_of

SERVICE_CLASSES = {
    "merchant": "services.merchant.service:MerchantService",
    "escrow": "services.escrow.service:EscrowService",
    "risk": "services.risk.service:RiskService",
    "ledger": "ledger.service:LedgerService",
}
"""`module:Class` as `nameko run` takes it, by service name."""

EVENT_SOURCED = ("merchant", "escrow", "risk")
"""The services that own an event store, and so run an outbox relay."""


def service_classes() -> dict[str, type]:
    import importlib

    found = {}
    for name, path in SERVICE_CLASSES.items():
        module, _, cls = path.partition(":")
        found[name] = getattr(importlib.import_module(module), cls)
    return found


def all_bindings() -> list[QueueBinding]:
    """Every queue a relay must declare: the nameko event handlers' and the ledger's."""
    from ledger.service import NOTARISED_SOURCES, NOTARY_QUEUE

    handlers = [b for cls in service_classes().values() for b in subscriptions_of(cls)]
    notary = [QueueBinding(NOTARY_QUEUE, source, "#") for source in NOTARISED_SOURCES]
    return handlers + notary
