"""The inspection service with a fixed eligible list (config TEST_ELIGIBLE_FILE, a JSON list
of {merchant_id, tier, white_listed, at_quota}), so a service test can draw known merchants
without the classification's inputs from the other services. Everything else is the real
service: store, relay, ledger RPC, signing key."""

from __future__ import annotations

import json
from pathlib import Path

from nameko.extensions import DependencyProvider

from services.inspection.service import InspectionService


class EligibleFile(DependencyProvider):
    def setup(self) -> None:
        self.path = Path(self.container.config["TEST_ELIGIBLE_FILE"])

    def get_dependency(self, worker_ctx) -> Path:
        return self.path


class FixedEligible:
    def __init__(self, merchants: list[dict]):
        self.merchants = merchants

    def eligible(self, department: str, kind: str) -> list[dict]:
        return list(self.merchants)

    def data_check(self, merchant_id: str) -> tuple[bool, list[dict]]:
        return True, []

    def tier(self, merchant_id: str) -> str | None:
        return next((m["tier"] for m in self.merchants if m["merchant_id"] == merchant_id), None)


class FixedEligibleInspectionService(InspectionService):
    eligible_file = EligibleFile()

    def _classifications(self):
        return FixedEligible(json.loads(self.eligible_file.read_text()))
