"""The platform's nameko services by name: what the gateway calls and checks.

Which class runs each, and which queues their handlers consume, is composition and lives in
platformrun/registry.py; this module holds only the names, so that the gateway can know them
without importing the services it fronts.
"""

from __future__ import annotations

SERVICE_NAMES = ("merchant", "escrow", "risk", "inspection", "ledger")
