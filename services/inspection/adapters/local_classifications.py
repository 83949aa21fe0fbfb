"""The Classifications port over this service's own classification projection
(application/classifications.py) and the pure data checks (domain/data_checks.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventstore import EventStore
from services.inspection.application import classifications
from services.inspection.domain.data_checks import run_checks
from services.inspection.domain.rules import InspectionRules


class LocalClassifications:
    def __init__(
        self, store: EventStore, rules: InspectionRules, refunds: Any, now: datetime
    ) -> None:
        self._store = store
        self._rules = rules
        self._refunds = refunds
        self._now = now

    def eligible(self, department: str, kind: str) -> list[dict]:
        return classifications.eligible_merchants(self._store, department, kind)

    def data_check(self, merchant_id: str) -> tuple[bool, list[dict]]:
        inputs = classifications.data_check_inputs(
            self._store, merchant_id, self._now, self._rules, self._refunds
        )
        passed, checks = run_checks(inputs, self._rules)
        return bool(passed), list(checks)

    def tier(self, merchant_id: str) -> str | None:
        found = classifications.get(self._store, merchant_id)
        return None if found is None else found.get("tier")
