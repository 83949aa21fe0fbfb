"""The inspection nameko service: thin entrypoints over the application layer.

It consumes the merchant, escrow and risk events its classification needs, serves the
regulators' plans and 双随机 draws (after the ledger holds each plan's commitment), the
inspectors' e码查 check-ins and results, the merchants' rectifications and the public
results; a timer reclassifies and publishes overdue results.
"""

from __future__ import annotations

import logging
from datetime import datetime

from nameko.rpc import RpcProxy

from messaging.consumer import consumes
from messaging.wire import IntegrationEvent
from services import clock
from services.dependencies import Ed25519KeyFile
from services.inspection.adapters.ledger_rpc import LedgerOverRpc
from services.inspection.adapters.local_classifications import LocalClassifications
from services.inspection.application import classifications, codes, commands, queries, visits
from services.inspection.domain.calendar import china_day
from services.inspection.domain.rules import InspectionRules
from services.platform_service import PlatformService
from services.remote_errors import domain_errors_cross
from services.rpc import rpc
from services.scheduled import scheduled

log = logging.getLogger("inspection")


def now() -> datetime:
    return clock.now()


class InspectionService(PlatformService):
    name = "inspection"
    code_key = Ed25519KeyFile(
        config_key="INSPECTION_SIGNING_KEY",
        default_path="var/inspection/signing.pem",
        needed_for="merchant codes (e码查)",
    )
    ledger_rpc = RpcProxy("ledger")

    @property
    def rules(self) -> InspectionRules:
        return InspectionRules.from_policy(self.policy.inspection)

    def _classifications(self) -> LocalClassifications:
        return LocalClassifications(self.store, self.rules, self.policy.refunds, now())

    def _observe(self, event: IntegrationEvent, uow) -> None:
        at = event.data.get("at") or event.recorded_at
        classifications.observe(uow, event.type, event.data, at, self.rules, views=self.store)

    @consumes("merchant", "#")
    def on_merchant_event(self, event: IntegrationEvent, uow) -> None:
        self._observe(event, uow)

    @consumes("escrow", "#")
    def on_escrow_event(self, event: IntegrationEvent, uow) -> None:
        self._observe(event, uow)

    @consumes("risk", "#")
    def on_risk_event(self, event: IntegrationEvent, uow) -> None:
        self._observe(event, uow)

    @scheduled("sweep", interval=60)  # reclassification, overdue publication
    def scheduled_work(self) -> None:
        self.sweep()

    @rpc
    def sweep(self, at: str | None = None) -> dict:
        """Reclassifies every merchant (time-driven rules) and publishes overdue results."""
        when = datetime.fromisoformat(at) if at else now()
        return {
            "reclassified": classifications.reclassify_all(self.store, self.rules, when),
            "published": visits.publish_overdue(store=self.store, rules=self.rules, now=when),
        }

    # --- classification ---
    @rpc
    def classification(self, merchant_id) -> dict | None:
        return classifications.get(self.store, merchant_id)

    @rpc
    @domain_errors_cross
    def set_white_list(self, merchant_id, white_listed, reason, by, metadata=None) -> dict:
        return classifications.set_white_list(
            self.store, merchant_id, white_listed, reason, by, now(), metadata
        )

    # --- roster and plans ---
    @rpc
    @domain_errors_cross
    def enrol_inspector(self, inspector_id, department, conflicts, by, metadata=None) -> dict:
        return commands.enrol_inspector(
            inspector_id,
            department,
            conflicts,
            by,
            store=self.store,
            rules=self.rules,
            now=now(),
            metadata=metadata,
        )

    @rpc
    def inspectors(self, department=None) -> dict:
        return queries.inspectors(self.store, department)

    @rpc
    @domain_errors_cross
    def open_plan(self, department, period, kind, by, metadata=None, reason="") -> dict:
        return commands.open_plan(
            department,
            period,
            kind,
            by,
            reason=reason,
            store=self.store,
            classifications=self._classifications(),
            rules=self.rules,
            now=now(),
            metadata=metadata,
        )

    @rpc
    @domain_errors_cross
    def draw(self, plan_id, by, metadata=None) -> dict:
        return commands.draw(
            plan_id,
            by,
            store=self.store,
            ledger=LedgerOverRpc(self.ledger_rpc),
            classifications=self._classifications(),
            rules=self.rules,
            now=now(),
            metadata=metadata,
        )

    @rpc
    @domain_errors_cross
    def plan(self, plan_id) -> dict:
        return queries.plan(self.store, plan_id)

    @rpc
    @domain_errors_cross
    def plans(self, department=None, after="", limit=100) -> dict:
        return queries.plans(self.store, department, after, limit)

    # --- inspections ---
    @rpc
    @domain_errors_cross
    def inspection(self, inspection_id) -> dict:
        return queries.inspection(self.store, inspection_id)

    @rpc
    @domain_errors_cross
    def inspections(
        self,
        assignee=None,
        merchant_id=None,
        plan_id=None,
        after="",
        limit=100,
        announced_only=False,
    ) -> dict:
        return queries.inspections(
            self.store,
            assignee=assignee,
            merchant_id=merchant_id,
            plan_id=plan_id,
            after=after,
            limit=limit,
            announced_only=announced_only,
        )

    @rpc
    @domain_errors_cross
    def evidence_inspections(self, evidence_sha256) -> dict:
        return queries.evidence_inspections(self.store, evidence_sha256)

    @rpc
    def merchant_code(self, merchant_id, at=None) -> dict:
        return codes.merchant_code(
            merchant_id,
            key=self.code_key.key,
            now=datetime.fromisoformat(at) if at else now(),
            valid_minutes=self.rules.code_valid_minutes,
        )

    @rpc
    @domain_errors_cross
    def check_in(self, inspection_id, inspector_id, merchant_code, metadata=None) -> dict:
        return visits.check_in(
            inspection_id,
            inspector_id,
            merchant_code,
            store=self.store,
            key=self.code_key.key,
            classifications=self._classifications(),
            rules=self.rules,
            now=now(),
            metadata=metadata,
        )

    @rpc
    @domain_errors_cross
    def record_result(
        self, inspection_id, inspector_id, finding, note, rectification_days=None, metadata=None
    ) -> dict:
        return visits.record_result(
            inspection_id,
            inspector_id,
            finding,
            note,
            rectification_days,
            store=self.store,
            rules=self.rules,
            now=now(),
            metadata=metadata,
        )

    @rpc
    @domain_errors_cross
    def submit_rectification(
        self, inspection_id, merchant_id, evidence_sha256, note, metadata=None
    ) -> dict:
        return visits.submit_rectification(
            inspection_id,
            merchant_id,
            evidence_sha256,
            note,
            store=self.store,
            rules=self.rules,
            now=now(),
            metadata=metadata,
        )

    @rpc
    @domain_errors_cross
    def accept_rectification(self, inspection_id, by, metadata=None) -> dict:
        return visits.accept_rectification(
            inspection_id, by, store=self.store, rules=self.rules, now=now(), metadata=metadata
        )

    @rpc
    @domain_errors_cross
    def published(self, merchant_id, after="", limit=100) -> dict:
        return queries.published(self.store, merchant_id, after, limit)

    @rpc
    @domain_errors_cross
    def stats(self, year) -> dict:
        return queries.stats(self.store, year, self.rules, china_day(now()).isoformat())
