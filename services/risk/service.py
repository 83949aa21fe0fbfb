"""The risk nameko service: thin entrypoints over the application layer.

It consumes every event of the merchant and escrow services (one durable queue per source),
assesses the merchant each event is about, and on a timer re-evaluates time-driven indicators
and enforces red-code deadlines.
"""

from __future__ import annotations

import logging
from datetime import datetime

from nameko.rpc import RpcProxy

from messaging.consumer import EventStoreDependency, consumes
from messaging.wire import IntegrationEvent
from services import clock
from services.dependencies import Ed25519KeyFile, PolicyDependency, VaultDependency
from services.platform_service import PlatformService
from services.remote_errors import domain_errors_cross
from services.risk.adapters.merchant_rpc import MerchantStatusOverRpc
from services.risk.application import (
    alerts,
    backfill,
    city,
    commands,
    credit,
    delisting,
    history,
    projections,
    public_lists,
    queries,
    ratings,
    watch,
)
from services.risk.application.observations import RELEVANT, event_time
from services.risk.domain.alerts import AlertRules
from services.risk.domain.health_code import RiskRules
from services.rpc import rpc
from services.scheduled import scheduled

log = logging.getLogger("risk")


def now() -> datetime:
    return clock.now()


class RiskStore(EventStoreDependency):
    """The service's store; complaints from before the consumers' lists and alerts from before
    the queue are listed at start, a store from before the city's and the lists' views has
    them filled once, and one from before the queue's and watch list's keys held references
    has them compacted once."""

    def setup(self) -> None:
        super().setup()
        assert self.store is not None, "opened by the setup above"
        projections.backfill_consumer_index(self.store)
        backfill.fill_views(self.store, now=now())
        alerts.backfill_queue(self.store)
        backfill.compact_views(self.store, now=now())


class RiskService(PlatformService):
    name = "risk"
    store = RiskStore()
    vault = VaultDependency()
    policy = PolicyDependency()
    signing = Ed25519KeyFile(
        config_key="RISK_SIGNING_KEY",
        default_path="var/risk/signing.pem",
        needed_for="credit reports",
    )
    merchant_rpc = RpcProxy("merchant")

    @property
    def rules(self) -> RiskRules:
        return RiskRules.from_policy(self.policy.risk)

    def _observe(self, event: IntegrationEvent, uow) -> None:
        if event.type in RELEVANT or event.type == alerts.RECONCILED:
            commands.observe_event(
                uow,
                event.type,
                event.data,
                event_time(event.data, event.recorded_at),
                rules=self.rules,
                metadata={"causation_id": event.event_id},
            )

    @consumes("merchant", "#")
    def on_merchant_event(self, event: IntegrationEvent, uow) -> None:
        self._observe(event, uow)

    @consumes("escrow", "#")
    def on_escrow_event(self, event: IntegrationEvent, uow) -> None:
        self._observe(event, uow)

    @scheduled("sweep", interval=60)  # names learnt, reassessment, red-code deadlines
    def scheduled_work(self) -> None:
        try:  # once: the names and industries of merchants assessed before risk kept them
            backfill.learn_names(self.store, MerchantStatusOverRpc(self.merchant_rpc), now=now())
        except Exception:  # the merchant service is not up yet: the next run asks again
            log.warning("merchant names not learnt yet", exc_info=True)
        self.sweep()

    @rpc
    def sweep(self) -> dict:
        """Re-evaluates every merchant now and enforces passed deadlines (operators, tests)."""
        at = now()
        assessed = commands.reassess_all(store=self.store, rules=self.rules, now=at)
        return {
            "assessed": assessed,
            **delisting.check_deadlines(
                store=self.store, merchants=MerchantStatusOverRpc(self.merchant_rpc), now=at
            ),
        }

    @rpc
    @domain_errors_cross
    def file_complaint(
        self, consumer_id, merchant_id, card_id, category, text, metadata=None
    ) -> dict:
        return commands.file_complaint(
            consumer_id,
            merchant_id,
            card_id,
            category,
            text,
            store=self.store,
            vault=self.vault,
            rules=self.rules,
            now=now(),
            metadata=metadata,
        )

    @rpc
    @domain_errors_cross
    def respond_to_complaint(self, complaint_id, merchant_id, response, metadata=None):
        return commands.respond_to_complaint(
            complaint_id,
            merchant_id,
            response,
            store=self.store,
            vault=self.vault,
            rules=self.rules,
            now=now(),
            metadata=metadata,
        )

    @rpc
    @domain_errors_cross
    def close_complaint(
        self, complaint_id, consumer_id, by, how, outcome="accepted", metadata=None
    ) -> dict:
        return commands.close_complaint(
            complaint_id,
            consumer_id,
            by,
            how,
            store=self.store,
            rules=self.rules,
            now=now(),
            outcome=outcome,
            metadata=metadata,
        )

    @rpc
    @domain_errors_cross
    def rule_unfounded(self, complaint_id, by, note, metadata=None) -> dict:
        return commands.rule_unfounded(
            complaint_id, by, note, store=self.store, rules=self.rules, now=now(), metadata=metadata
        )

    @rpc
    @domain_errors_cross
    def get_complaint(self, complaint_id) -> dict:
        return queries.get_complaint(complaint_id, store=self.store, vault=self.vault)

    @rpc
    def merchant_complaints(self, merchant_id, after="", limit=100) -> dict:
        return queries.merchant_complaints(
            merchant_id, store=self.store, vault=self.vault, after=after, limit=limit
        )

    @rpc
    def consumer_complaints(self, consumer_id, after="", limit=100) -> dict:
        return queries.consumer_complaints(
            consumer_id, store=self.store, vault=self.vault, after=after, limit=limit
        )

    @rpc
    @domain_errors_cross
    def rate_spend(self, redemption_id, consumer_id, stars, text="", metadata=None) -> dict:
        return ratings.rate_spend(
            redemption_id,
            consumer_id,
            stars,
            text,
            store=self.store,
            vault=self.vault,
            now=now(),
            metadata=metadata,
        )

    @rpc
    def merchant_ratings(self, merchant_id, after="", limit=100) -> dict:
        return ratings.merchant_ratings(
            merchant_id, store=self.store, vault=self.vault, after=after, limit=limit
        )

    @rpc
    def rating_summaries(self, merchant_ids) -> dict:
        return ratings.summaries(merchant_ids, store=self.store)

    @rpc
    def credit_key(self) -> dict:
        """The public half of the key credit reports are signed with."""
        return credit.public_key(self.signing.key, self.signing.key_id)

    @rpc
    @domain_errors_cross
    def health_code(self, merchant_id, full=False) -> dict:
        return queries.health(merchant_id, store=self.store, full=full)

    @rpc
    def codes(self, merchant_ids) -> dict:
        return queries.codes(merchant_ids, store=self.store)

    @rpc
    @domain_errors_cross
    def alerts(self, status="open", after="", limit=100, filters=None) -> dict:
        """The queue; `filters`: code, facet and value, opened_after, opened_before."""
        return alerts.queue(
            store=self.store,
            now=now(),
            rules=AlertRules.from_policy(self.policy.risk),
            status=status,
            after=after,
            limit=limit,
            **(filters or {}),
        )

    @rpc
    @domain_errors_cross
    def assign_alert(self, alert_id, assignee, by, department="", metadata=None) -> dict:
        return alerts.assign(
            alert_id,
            assignee,
            by=by,
            department=department,
            store=self.store,
            now=now(),
            metadata=metadata,
        )

    # --- the city's figures and the public lists (issue 13) ---
    @rpc
    @domain_errors_cross
    def city_stats(self, by="industry", first="", last="") -> dict:
        if by == "day":
            return city.by_day(first, last, store=self.store)
        return city.by_industry(store=self.store)

    @rpc
    @domain_errors_cross
    def health_history(self, merchant_id, first, last) -> dict:
        return history.health_history(merchant_id, first, last, store=self.store, rules=self.rules)

    @rpc
    def public_list(self, which, after="", limit=100, department=None) -> dict:
        return public_lists.listed(
            which, store=self.store, after=after, limit=limit, department=department
        )

    @rpc
    def watch_list(self, code=None, department=None, after="", limit=100) -> dict:
        return watch.watched(
            store=self.store, code=code, department=department, after=after, limit=limit
        )

    @rpc
    @domain_errors_cross
    def alert_step(
        self,
        alert_id,
        step,
        by,
        note="",
        evidence_sha256=None,
        disposition=None,
        metadata=None,
        department="",
    ) -> dict:
        # The regulator's disposition takes effect on the merchant (sanctions.py).
        return commands.alert_step(
            alert_id,
            step,
            by=by,
            store=self.store,
            merchants=MerchantStatusOverRpc(self.merchant_rpc),
            now=now(),
            note=note,
            evidence_sha256=evidence_sha256,
            disposition=disposition,
            department=department,
            metadata=metadata,
        )

    @rpc
    def forget(self, subject: str) -> dict:
        """Erases a person's personal data here (their key): complaint texts and the
        merchants' responses to them read as erased from then on."""
        self.vault.forget(subject)
        return {"service": self.name, "subject": subject, "erased": True}

    @rpc
    @domain_errors_cross
    def credit_report(self, merchant_id) -> dict:
        return credit.credit_report(
            merchant_id,
            store=self.store,
            key=self.signing.key,
            key_id=self.signing.key_id,
            now=now(),
        )
