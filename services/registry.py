"""The platform's nameko services, and the queues their event handlers consume."""
from __future__ import annotations

from messaging.topology import QueueBinding, subscriptions_of

SERVICE_CLASSES = {
    "merchant": "services.merchant.service:MerchantService",
    "escrow": "services.escrow.service:EscrowService",
    "risk": "services.risk.service:RiskService",
}
"""`module:Class` as `nameko run` takes it, by service name."""


def service_classes() -> dict[str, type]:
    import importlib

    found = {}
    for name, path in SERVICE_CLASSES.items():
        module, _, cls = path.partition(":")
        found[name] = getattr(importlib.import_module(module), cls)
    return found


def all_bindings() -> list[QueueBinding]:
    return [b for cls in service_classes().values() for b in subscriptions_of(cls)]
