"""Typed clients of the services the gateway calls: one method per RPC, named and typed as
the view uses it, each going through `RemoteCaller.call` (services/gateway/remote.py), so
every call fails the same way. `create_app` wires them once; a view reaches them through
`clients()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from services import erasure
from services.gateway.remote import RemoteCaller

Json = dict[str, Any]
Metadata = dict[str, str]
"""The correlation id and actor every event a request records carries
(services/gateway/request_context.py)."""


class _Client:
    service = ""

    def __init__(self, remote: RemoteCaller):
        self._remote = remote

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._remote.call(self.service, method, *args, **kwargs)


class MerchantClient(_Client):
    service = "merchant"

    def apply(self, application: Json, applied_by: str, metadata: Metadata) -> Json:
        return self._call("apply", application, applied_by, metadata)

    def approve(self, merchant_id: str, approved_by: str, metadata: Metadata) -> Json:
        return self._call("approve", merchant_id, approved_by, metadata)

    def get(self, merchant_id: str, viewer_is_owner: bool = False) -> Json:
        """The merchant's card; NotFound (404) for a merchant that does not exist."""
        return self._call("get", merchant_id, viewer_is_owner)

    def directory(
        self,
        industry: str | None,
        after: str,
        limit: int,
        health_code: str | None,
        name: str | None = None,
    ) -> Json:
        """Listed merchants in directory order; with `name`, those whose name holds it."""
        return self._call("directory", industry, after, limit, health_code, name)

    def create_product(self, merchant_id: str, fields: Json, metadata: Metadata) -> Json:
        return self._call("create_product", merchant_id, fields, metadata)

    def declare_default(
        self, merchant_id: str, reason: str, regulator: str, metadata: Metadata
    ) -> Json:
        """A proposal (status "default_proposed") or, confirmed by a second regulator, the
        default with its refunds (status "defaulted", cards_refunded, amount_refunded)."""
        return self._call("declare_default", merchant_id, reason, regulator, metadata)

    def default_progress(self, merchant_id: str) -> Json:
        """{merchant_id, status: none|proposed|refunding|finished, cards_total,
        cards_refunded, amount_refunded}; NotFound (404) for no such merchant."""
        return self._call("default_progress", merchant_id)

    def reinstate(self, merchant_id: str, reason: str, regulator: str, metadata: Metadata) -> Json:
        """{merchant_id, status: "active", reinstated_at}; Conflict `not_delisted` (409),
        BusinessRuleViolation `still_red` (422), NotFound (404)."""
        return self._call("reinstate", merchant_id, reason, regulator, metadata)

    def set_flag(
        self, merchant_id: str, flag: str, on: bool, source: str, set_by: str, metadata: Metadata
    ) -> Json:
        return self._call("set_flag", merchant_id, flag, on, source, set_by, metadata)

    def create_promotion(
        self, merchant_id: str, fields: Json, created_by: str, metadata: Metadata
    ) -> Json:
        return self._call("create_promotion", merchant_id, fields, created_by, metadata)

    def promotions(self, merchant_id: str, include_ended: bool, after: str, limit: int) -> Json:
        return self._call("promotions", merchant_id, include_ended, after, limit)

    def names(self, merchant_ids: list[str]) -> dict[str, str]:
        """merchant id -> public name, for those that exist; one call for a page of ids."""
        return self._call("names", merchant_ids) if merchant_ids else {}

    def products(self, merchant_id: str, include_retired: bool, after: str, limit: int) -> Json:
        return self._call("products", merchant_id, include_retired, after, limit)

    def retire_product(
        self, merchant_id: str, product_id: str, retired_by: str, metadata: Metadata
    ) -> Json:
        """The retirement; NotFound (404) for a product that is not the merchant's."""
        return self._call("retire_product", merchant_id, product_id, retired_by, metadata)


class EscrowClient(_Client):
    service = "escrow"

    def purchase(
        self, consumer_id: str, product_id: str, metadata: Metadata, request_id: str
    ) -> Json:
        """One card per `request_id` (idempotency.request_identity)."""
        return self._call("purchase", consumer_id, product_id, metadata, request_id)

    def confirm_payment(self, payment_id: str, amount: int | None, metadata: Metadata) -> Json:
        return self._call("confirm_payment", payment_id, amount, metadata)

    def get_card(self, card_id: str) -> Json:
        return self._call("get_card", card_id)

    def consumer_cards(self, consumer_id: str, after: str, limit: int) -> Json:
        return self._call("consumer_cards", consumer_id, after, limit)

    def request_redemption(
        self,
        card_id: str,
        merchant_id: str,
        value: int,
        uses: int,
        metadata: Metadata,
        request_id: str,
    ) -> Json:
        """One hold per `request_id` (idempotency.request_identity)."""
        return self._call(
            "request_redemption", card_id, merchant_id, value, uses, metadata, request_id
        )

    def confirm_redemption(self, redemption_id: str, consumer_id: str, metadata: Metadata) -> Json:
        return self._call("confirm_redemption", redemption_id, consumer_id, metadata)

    def reject_redemption(self, redemption_id: str, consumer_id: str, metadata: Metadata) -> Json:
        return self._call("reject_redemption", redemption_id, consumer_id, metadata)

    def refund(
        self,
        card_id: str,
        consumer_id: str,
        metadata: Metadata,
        rule: str | None = None,
        request_id: str | None = None,
    ) -> Json:
        """Executed again under `request_id`, the first execution's answer."""
        return self._call("refund", card_id, consumer_id, metadata, rule, request_id)

    def refund_quote(self, card_id: str, consumer_id: str | None, rule: str | None) -> Json:
        return self._call("refund_quote", card_id, consumer_id, rule)

    def card_history(self, card_id: str) -> Json:
        return self._call("card_history", card_id)

    def merchant_cards(self, merchant_id: str, after: str, limit: int) -> Json:
        return self._call("merchant_cards", merchant_id, after, limit)

    def card_at_counter(self, merchant_id: str, card_code: str) -> Json:
        """The merchant's own card with that code; NotFound `card_not_found` otherwise."""
        return self._call("card_at_counter", merchant_id, card_code)

    def get_redemption(self, redemption_id: str) -> Json:
        return self._call("get_redemption", redemption_id)

    def consumer_redemptions(self, consumer_id: str, status: str, after: str, limit: int) -> Json:
        return self._call("consumer_redemptions", consumer_id, status, after, limit)

    def merchant_redemptions(self, merchant_id: str, status: str, after: str, limit: int) -> Json:
        return self._call("merchant_redemptions", merchant_id, status, after, limit)

    def merchant_daily_stats(self, merchant_id: str, start: str, end: str) -> Json:
        return self._call("merchant_daily_stats", merchant_id, start, end)

    def overdue_refunds(self, after: str, limit: int) -> Json:
        return self._call("overdue_refunds", after, limit)

    def merchant_stats(self, merchant_id: str) -> Json:
        return self._call("merchant_stats", merchant_id)

    def settlements(self, merchant_id: str, after: str, limit: int) -> Json:
        return self._call("settlements", merchant_id, after, limit)

    def sweep(self) -> Json:
        """One page of the scheduled work due now; `more` says whether another is due."""
        return self._call("sweep")

    def reconciliation(self, day: str) -> Json:
        """A reconciled day's report; NotFound `not_reconciled` for a day not reconciled yet."""
        return self._call("reconciliation", day)

    def reconciliations(self, after: str, limit: int) -> Json:
        """Reconciled days' reports, newest first: {"items", "next_after"}."""
        return self._call("reconciliations", after, limit)


class RiskClient(_Client):
    service = "risk"

    def codes(self, merchant_ids: list[str]) -> dict[str, Json]:
        return self._call("codes", merchant_ids)

    def health_code(self, merchant_id: str, full: bool) -> Json:
        return self._call("health_code", merchant_id, full)

    def credit_report(self, merchant_id: str) -> Json:
        return self._call("credit_report", merchant_id)

    def file_complaint(
        self,
        consumer_id: str,
        merchant_id: str,
        card_id: str | None,
        category: str,
        text: str,
        metadata: Metadata,
    ) -> Json:
        return self._call(
            "file_complaint", consumer_id, merchant_id, card_id, category, text, metadata
        )

    def get_complaint(self, complaint_id: str) -> Json:
        return self._call("get_complaint", complaint_id)

    def respond_to_complaint(
        self, complaint_id: str, merchant_id: str, response: str, metadata: Metadata
    ) -> Json:
        return self._call("respond_to_complaint", complaint_id, merchant_id, response, metadata)

    def close_complaint(
        self,
        complaint_id: str,
        consumer_id: str | None,
        by: str,
        how: str,
        outcome: str,
        metadata: Metadata,
    ) -> Json:
        """`consumer_id`, when given, must be the complaint's own consumer."""
        return self._call("close_complaint", complaint_id, consumer_id, by, how, outcome, metadata)

    def rule_unfounded(self, complaint_id: str, by: str, note: str, metadata: Metadata) -> Json:
        return self._call("rule_unfounded", complaint_id, by, note, metadata)

    def merchant_complaints(self, merchant_id: str, after: str, limit: int) -> Json:
        return self._call("merchant_complaints", merchant_id, after, limit)

    def alerts(self, status: str, after: str, limit: int, filters: Json | None = None) -> Json:
        """The queue; `filters`: code, facet and value, opened_after, opened_before."""
        return self._call("alerts", status, after, limit, filters or {})

    def assign_alert(
        self, alert_id: str, assignee: str, by: str, department: str, metadata: Metadata
    ) -> Json:
        return self._call("assign_alert", alert_id, assignee, by, department, metadata)

    # --- the city's figures and the public lists (issue 13) ---
    def city_stats(self, by: str, first: str, last: str) -> Json:
        return self._call("city_stats", by, first, last)

    def public_list(
        self, which: str, after: str, limit: int, department: str | None = None
    ) -> Json:
        return self._call("public_list", which, after, limit, department)

    def watch_list(self, code: str | None, department: str | None, after: str, limit: int) -> Json:
        """The 风险预警名单: merchants yellow or red now, filtered by code and department."""
        return self._call("watch_list", code, department, after, limit)

    def health_history(self, merchant_id: str, first: str, last: str) -> Json:
        return self._call("health_history", merchant_id, first, last)

    def acknowledge_alert(
        self, alert_id: str, by: str, metadata: Metadata, department: str = ""
    ) -> Json:
        return self._call(
            "alert_step", alert_id, "acknowledged", by, metadata=metadata, department=department
        )

    def verify_alert(
        self,
        alert_id: str,
        by: str,
        note: str,
        evidence_sha256: str,
        metadata: Metadata,
        department: str = "",
    ) -> Json:
        return self._call(
            "alert_step",
            alert_id,
            "verified",
            by,
            metadata=metadata,
            note=note,
            evidence_sha256=evidence_sha256,
            department=department,
        )

    def resolve_alert(
        self,
        alert_id: str,
        by: str,
        disposition: str,
        note: str,
        metadata: Metadata,
        department: str = "",
    ) -> Json:
        return self._call(
            "alert_step",
            alert_id,
            "resolved",
            by,
            metadata=metadata,
            disposition=disposition,
            note=note,
            department=department,
        )

    def sweep(self) -> Json:
        return self._call("sweep")

    def consumer_complaints(self, consumer_id: str, after: str, limit: int) -> Json:
        return self._call("consumer_complaints", consumer_id, after, limit)

    def rate_spend(
        self, redemption_id: str, consumer_id: str, stars: int, text: str, metadata: Metadata
    ) -> Json:
        """{rating_id, redemption_id, stars}; 409 spend_not_confirmed or already_rated, 404
        for another consumer's spend."""
        return self._call("rate_spend", redemption_id, consumer_id, stars, text, metadata)

    def merchant_ratings(self, merchant_id: str, after: str, limit: int) -> Json:
        return self._call("merchant_ratings", merchant_id, after, limit)

    def rating_summaries(self, merchant_ids: list[str]) -> dict[str, Json]:
        return self._call("rating_summaries", merchant_ids)

    def credit_key(self) -> Json:
        """{alg, key_id, public_key_b64}: the key credit reports are signed with."""
        return self._call("credit_key")


class LedgerClient(_Client):
    service = "ledger"

    def checkpoint(self) -> Json | None:
        """The newest cosigned checkpoint; None before the first is published."""
        return self._call("checkpoint")

    def entries(self, start: int, end: int) -> list[Json]:
        return self._call("entries", start, end)

    def merchant_entries(self, merchant_id: str, after: str, limit: int) -> Json:
        """{items: [{index, event_id, type, at, amount?}], next_after}: the published entries
        naming the merchant, newest first, below index `after` ("" for the newest)."""
        return self._call("merchant_entries", merchant_id, after, limit)

    def receipt(self, event_id: str, consumer_id: str | None) -> Json | None:
        """The inclusion proof with the event's parties; None for an unknown event."""
        return self._call("receipt", event_id, consumer_id)

    def consistency(self, first: int, second: int) -> list[str]:
        return self._call("consistency", first, second)

    def keys(self) -> Json:
        """{log: {origin, vkey}, witnesses: [{name, vkey}], quorum: [name]}."""
        return self._call("keys")


class InspectionClient(_Client):
    """The inspection service (issue 14): classification, plans and the verifiable draw,
    visits with the merchant's code, results, rectifications and their publication."""

    service = "inspection"

    def classification(self, merchant_id: str) -> Json | None:
        """The merchant's risk class, credit grade, tier, white list, quota and reasons (with
        `as_of`); None for a merchant the service does not know yet."""
        return self._call("classification", merchant_id)

    def set_white_list(
        self, merchant_id: str, white_listed: bool, reason: str, by: str, metadata: Metadata
    ) -> Json:
        return self._call("set_white_list", merchant_id, white_listed, reason, by, metadata)

    def enrol_inspector(
        self,
        inspector_id: str,
        department: str,
        conflicts: list[str],
        by: str,
        metadata: Metadata,
    ) -> Json:
        return self._call("enrol_inspector", inspector_id, department, conflicts, by, metadata)

    def inspectors(self, department: str) -> Json:
        return self._call("inspectors", department)

    def open_plan(
        self, department: str, period: str, kind: str, by: str, metadata: Metadata, reason: str
    ) -> Json:
        """{plan_id, status: "committed", seed_commitment, eligible_hash, ledger_event_id};
        409 plan_exists for a second routine plan of a department and period."""
        return self._call("open_plan", department, period, kind, by, metadata, reason)

    def draw(self, plan_id: str, by: str, metadata: Metadata) -> Json:
        """{plan_id, seed, eligible, inspections, unstaffed}; the same again on a repeat;
        409 commitment_not_notarised until the ledger holds the commitment."""
        return self._call("draw", plan_id, by, metadata)

    def plan(self, plan_id: str) -> Json:
        return self._call("plan", plan_id)

    def plans(self, department: str | None, after: str, limit: int) -> Json:
        return self._call("plans", department, after, limit)

    def inspection(self, inspection_id: str) -> Json:
        return self._call("inspection", inspection_id)

    def inspections(
        self,
        after: str,
        limit: int,
        assignee: str | None = None,
        merchant_id: str | None = None,
        plan_id: str | None = None,
        announced_only: bool = False,
    ) -> Json:
        """One of `assignee` (an inspector's id), `merchant_id` or `plan_id`; with
        `announced_only`, only what the merchant may know of (checked in, data checked)."""
        return self._call(
            "inspections",
            announced_only=announced_only,
            assignee=assignee,
            merchant_id=merchant_id,
            plan_id=plan_id,
            after=after,
            limit=limit,
        )

    def evidence_inspections(self, evidence_sha256: str) -> Json:
        """{items: [{inspection_id, merchant_id, inspectors}]}: the inspections whose
        rectification names the evidence file."""
        return self._call("evidence_inspections", evidence_sha256)

    def merchant_code(self, merchant_id: str) -> Json:
        """{merchant_code, expires_at}: the signed token an inspector scans to check in, valid
        for minutes by the service's clock (the one check-in is judged by)."""
        return self._call("merchant_code", merchant_id)

    def check_in(
        self, inspection_id: str, inspector_id: str, merchant_code: str, metadata: Metadata
    ) -> Json:
        return self._call("check_in", inspection_id, inspector_id, merchant_code, metadata)

    def record_result(
        self,
        inspection_id: str,
        inspector_id: str,
        finding: str,
        note: str,
        rectification_days: int | None,
        metadata: Metadata,
    ) -> Json:
        return self._call(
            "record_result",
            inspection_id,
            inspector_id,
            finding,
            note,
            rectification_days,
            metadata,
        )

    def submit_rectification(
        self,
        inspection_id: str,
        merchant_id: str,
        evidence_sha256: str,
        note: str,
        metadata: Metadata,
    ) -> Json:
        return self._call(
            "submit_rectification", inspection_id, merchant_id, evidence_sha256, note, metadata
        )

    def accept_rectification(self, inspection_id: str, by: str, metadata: Metadata) -> Json:
        return self._call("accept_rectification", inspection_id, by, metadata)

    def published(self, merchant_id: str, after: str, limit: int) -> Json:
        """The merchant's published results (一公开), oldest first; no inspector ids."""
        return self._call("published", merchant_id, after, limit)

    def stats(self, year: int) -> Json:
        return self._call("stats", year)


@dataclass(frozen=True)
class Clients:
    merchant: MerchantClient
    escrow: EscrowClient
    risk: RiskClient
    ledger: LedgerClient
    remote: RemoteCaller
    inspection: InspectionClient

    @classmethod
    def over(cls, remote: RemoteCaller) -> Clients:
        return cls(
            MerchantClient(remote),
            EscrowClient(remote),
            RiskClient(remote),
            LedgerClient(remote),
            remote,
            InspectionClient(remote),
        )

    def forget(self, kind: str, subject: str) -> list[Json]:
        """Every service holding `kind`'s keys (services.erasure.HOLDERS) forgets `subject`."""
        return erasure.forget(kind, subject, self.remote.call)

    def health(self, services: tuple[str, ...]) -> dict[str, Json]:
        """Every service's health report; failures are reported, not raised."""
        return self.remote.health(services)


def clients() -> Clients:
    """The current app's clients (create_app wires them)."""
    return current_app.config["CLIENTS"]
