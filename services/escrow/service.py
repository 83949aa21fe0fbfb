"""The escrow nameko service: thin RPC entrypoints over the application layer."""

from __future__ import annotations

from datetime import datetime

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy

from messaging.consumer import EventStoreDependency, consumes
from messaging.observability import ObservabilityDependency
from messaging.wire import IntegrationEvent
from services import clock
from services.dependencies import PolicyDependency
from services.domain_errors import InvalidInput
from services.escrow.adapters.bank_choice import choose_bank
from services.escrow.adapters.merchant_rpc import ProductsOverRpc
from services.escrow.application import (
    commands,
    daily_reconciliation,
    defaults,
    migrations,
    queries,
    redemption_queries,
    refund_deadlines,
    scheduled_work,
)
from services.escrow.application.ports import Bank
from services.escrow.application.reconciliation import reconcile
from services.escrow.domain import refunds
from services.escrow.metrics import money_figures
from services.platform_mode import platform_mode
from services.platform_service import PlatformService
from services.remote_errors import domain_errors_cross
from services.rpc import rpc
from services.scheduled import scheduled


class BankDependency(DependencyProvider):
    """The escrow bank adapter named by config BANK_ADAPTER (adapters/bank_choice.py); demo
    mode's simulated bank writes its statements to config BANK_STATEMENT_DIR, or, shared by
    the escrow's replicas, to the PostgreSQL schema of config BANK_STATEMENT_URL. A mode the
    adapter cannot run in stops the service from starting."""

    def setup(self) -> None:
        self.bank = choose_bank(
            platform_mode(),
            self.container.config.get("BANK_ADAPTER"),
            self.container.config["BANK_STATEMENT_DIR"],
            clock=clock.now,
            statement_url=self.container.config.get("BANK_STATEMENT_URL"),
        )

    def get_dependency(self, worker_ctx) -> Bank:
        return self.bank


class EscrowStoreDependency(EventStoreDependency):
    """The escrow's store, its views moved to their current names before any worker runs."""

    def setup(self) -> None:
        super().setup()
        assert self.store is not None  # super().setup() opened it
        migrations.migrate(self.store)


def now() -> datetime:
    return clock.now()


class EscrowService(PlatformService):
    name = "escrow"
    store = EscrowStoreDependency()
    policy = PolicyDependency()
    bank = BankDependency()
    merchant_rpc = RpcProxy("merchant")
    observability = ObservabilityDependency(figures=money_figures)

    @consumes("risk", "risk.ComplaintFiled.v1")
    def on_complaint_filed(self, event: IntegrationEvent, uow) -> None:
        if event.data.get("card_id"):
            commands.open_dispute(uow, event.data["complaint_id"], event.data["card_id"])

    @consumes("risk", "risk.ComplaintResolved.v1")
    def on_complaint_resolved(self, event: IntegrationEvent, uow) -> None:
        commands.close_dispute(uow, event.data["complaint_id"])

    @scheduled("sweep", interval=30)  # holds, expiries, releases, payouts, reconciliation
    def scheduled_sweep(self) -> None:
        scheduled_work.sweep(
            store=self.store,
            bank=self.bank,
            policy=self.policy,
            now=now(),
            between_pages=eventlet.sleep,
        )

    @rpc
    def sweep(self, budget: int = scheduled_work.PAGE) -> dict:
        """One page of the scheduled work due now (operators, tests, the demo clock); call
        again while `more` is true."""
        return scheduled_work.sweep_page(
            store=self.store, bank=self.bank, policy=self.policy, now=now(), budget=budget
        )

    @rpc
    def reconcile(self, day: str) -> dict:
        """The bank's statement of `day` (YYYY-MM-DD) against the escrow's movements, checked
        now and not recorded (operators); the scheduled work records each finished day's."""
        return reconcile(day, self.bank.statement(day), store=self.store)

    @rpc
    @domain_errors_cross
    def reconciliation(self, day: str) -> dict:
        """The day's stored report; `invalid_date`, `not_reconciled` (not yet)."""
        return daily_reconciliation.report_of(day, store=self.store)

    @rpc
    def reconciliations(self, after: str = "", limit: int = 100) -> dict:
        """Reconciled days' reports, newest first."""
        return daily_reconciliation.reports(store=self.store, after=after, limit=limit)

    @rpc
    def merchant_stats(self, merchant_id: str) -> dict:
        return queries.merchant_stats(merchant_id, store=self.store)

    @rpc
    def settlements(self, merchant_id: str, after: str = "", limit: int = 100) -> dict:
        return queries.settlements(merchant_id, store=self.store, after=after, limit=limit)

    @rpc
    @domain_errors_cross
    def purchase(
        self,
        consumer_id: str,
        product_id: str,
        metadata: dict | None = None,
        request_id: str | None = None,
    ) -> dict:
        """One card per `request_id` (application/request_ids.py): a redelivered message or a
        client's retry answers with the first execution's card."""
        return commands.purchase_card(
            consumer_id,
            product_id,
            store=self.store,
            merchants=ProductsOverRpc(self.merchant_rpc),
            bank=self.bank,
            policy=self.policy,
            now=now(),
            metadata=metadata,
            request_id=request_id,
        )

    @rpc
    @domain_errors_cross
    def confirm_payment(self, payment_id: str, amount: int, metadata: dict | None = None):
        return commands.confirm_payment(
            payment_id,
            amount,
            store=self.store,
            bank=self.bank,
            policy=self.policy,
            now=now(),
            metadata=metadata,
        )

    @rpc
    @domain_errors_cross
    def get_card(self, card_id: str) -> dict:
        return queries.get_card(card_id, store=self.store)

    @rpc
    def overdue_refunds(self, after: str = "", limit: int = 100) -> dict:
        return refund_deadlines.overdue_refunds(
            store=self.store, policy=self.policy, now=now(), after=after, limit=limit
        )

    @rpc
    def consumer_cards(self, consumer_id: str, after: str = "", limit: int = 100) -> dict:
        return queries.consumer_cards(consumer_id, store=self.store, after=after, limit=limit)

    @rpc
    def merchant_cards(self, merchant_id: str, after: str = "", limit: int = 100) -> dict:
        return queries.merchant_cards(merchant_id, store=self.store, after=after, limit=limit)

    @rpc
    @domain_errors_cross
    def card_at_counter(self, merchant_id: str, card_code: str) -> dict:
        return queries.card_at_counter(merchant_id, card_code, store=self.store)

    @rpc
    @domain_errors_cross
    def card_history(self, card_id: str) -> dict:
        return queries.card_history(card_id, store=self.store)

    @rpc
    @domain_errors_cross
    def refund_quote(self, card_id: str, consumer_id: str | None, rule: str | None) -> dict:
        return queries.refund_quote(
            card_id, consumer_id, rule, store=self.store, policy=self.policy, now=now()
        )

    @rpc
    @domain_errors_cross
    def get_redemption(self, redemption_id: str) -> dict:
        return redemption_queries.get_redemption(redemption_id, store=self.store, now=now())

    @rpc
    @domain_errors_cross
    def consumer_redemptions(
        self, consumer_id: str, status: str, after: str = "", limit: int = 100
    ) -> dict:
        return redemption_queries.redemptions_of(
            "consumer", consumer_id, status, store=self.store, now=now(), after=after, limit=limit
        )

    @rpc
    @domain_errors_cross
    def merchant_redemptions(
        self, merchant_id: str, status: str, after: str = "", limit: int = 100
    ) -> dict:
        return redemption_queries.redemptions_of(
            "merchant", merchant_id, status, store=self.store, now=now(), after=after, limit=limit
        )

    @rpc
    @domain_errors_cross
    def merchant_daily_stats(self, merchant_id: str, start: str, end: str) -> dict:
        return queries.merchant_daily_stats(merchant_id, start, end, store=self.store)

    @rpc
    @domain_errors_cross
    def request_redemption(
        self,
        card_id: str,
        merchant_id: str,
        value: int = 0,
        uses: int = 0,
        metadata: dict | None = None,
        request_id: str | None = None,
    ) -> dict:
        """One hold per `request_id`: executed again, the first execution's answer."""
        return commands.request_redemption(
            card_id,
            merchant_id,
            value=value,
            uses=uses,
            store=self.store,
            policy=self.policy,
            now=now(),
            metadata=metadata,
            request_id=request_id,
        )

    @rpc
    @domain_errors_cross
    def confirm_redemption(
        self, redemption_id: str, consumer_id: str, metadata: dict | None = None
    ) -> dict:
        return commands.confirm_redemption(
            redemption_id, consumer_id, store=self.store, now=now(), metadata=metadata
        )

    @rpc
    @domain_errors_cross
    def reject_redemption(
        self, redemption_id: str, consumer_id: str, metadata: dict | None = None
    ) -> dict:
        return commands.void_redemption(
            redemption_id, consumer_id, "rejected", store=self.store, now=now(), metadata=metadata
        )

    @rpc
    def default_progress(self, merchant_id: str) -> dict | None:
        return defaults.default_progress(merchant_id, store=self.store)

    @rpc
    @domain_errors_cross
    def default_merchant(
        self, merchant_id: str, reason: str, declared_by: str, metadata: dict | None = None
    ) -> dict:
        return defaults.default_merchant(
            merchant_id,
            reason,
            declared_by,
            store=self.store,
            bank=self.bank,
            policy=self.policy,
            now=now(),
            metadata=metadata,
            between_batches=eventlet.sleep,
        )

    @rpc
    @domain_errors_cross
    def refund(
        self,
        card_id: str,
        consumer_id: str,
        metadata: dict | None = None,
        rule: str | None = None,
        request_id: str | None = None,
    ) -> dict:
        """`rule` (cooling_off or on_request) holds the owner to the rule it was quoted;
        without one, cooling-off while it applies, else on request. Executed again under
        its `request_id`, the first execution's answer."""
        if rule is not None and rule not in refunds.CONSUMER_RULES:
            raise InvalidInput(f"rule must be one of {', '.join(refunds.CONSUMER_RULES)}")
        return commands.refund_card(
            card_id,
            consumer_id,
            rule=rule,
            store=self.store,
            bank=self.bank,
            policy=self.policy,
            now=now(),
            metadata=metadata,
            request_id=request_id,
        )
