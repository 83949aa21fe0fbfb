"""The merchant nameko service: thin RPC entrypoints over the application layer.

It consumes the risk service's code changes, to keep the directory ordered by health code,
and reaches the escrow (a default's bulk refund and its progress) through the Escrow port
and the risk service (a merchant's code, before reinstating it) through the Risk port.
"""

from nameko.rpc import RpcProxy

from messaging.consumer import EventStoreDependency, consumes
from messaging.wire import IntegrationEvent
from services import clock
from services.dependencies import PolicyDependency, VaultDependency
from services.merchant.adapters.escrow_rpc import EscrowOverRpc
from services.merchant.adapters.risk_rpc import RiskOverRpc
from services.merchant.application import (
    commands,
    defaults,
    directory,
    projections,
    queries,
    reinstatement,
)
from services.merchant.application.store import product_stream
from services.platform_service import PlatformService
from services.remote_errors import domain_errors_cross
from services.rpc import rpc


class MerchantStore(EventStoreDependency):
    """The service's store; a store from before the directory's order is placed at start."""

    def setup(self) -> None:
        super().setup()
        assert self.store is not None, "opened by the setup above"
        directory.backfill(self.store)
        projections.backfill_product_index(self.store, product_stream)


class MerchantService(PlatformService):
    name = "merchant"
    store = MerchantStore()
    vault = VaultDependency()
    policy = PolicyDependency()
    escrow_rpc = RpcProxy("escrow")
    risk_rpc = RpcProxy("risk")

    @consumes("risk", "risk.HealthCodeChanged.v1")
    def on_health_code_changed(self, event: IntegrationEvent, uow) -> None:
        directory.record_health(uow, event.data)

    @rpc
    @domain_errors_cross
    def apply(self, application: dict, applied_by: str, metadata: dict | None = None) -> dict:
        return commands.apply_for_merchant(
            **application,
            applied_by=applied_by,
            store=self.store,
            vault=self.vault,
            metadata=metadata,
        )

    @rpc
    @domain_errors_cross
    def approve(self, merchant_id: str, approved_by: str, metadata: dict | None = None) -> dict:
        return commands.approve_merchant(
            merchant_id, approved_by, store=self.store, metadata=metadata
        )

    @rpc
    @domain_errors_cross
    def change_status(
        self,
        merchant_id: str,
        status: str,
        reason: str,
        changed_by: str,
        metadata: dict | None = None,
    ) -> dict:
        return commands.change_status(
            merchant_id, status, reason, changed_by, store=self.store, metadata=metadata
        )

    @rpc
    @domain_errors_cross
    def declare_default(
        self, merchant_id: str, reason: str, regulator: str, metadata: dict | None = None
    ) -> dict:
        return defaults.declare_default(
            merchant_id,
            reason,
            regulator,
            store=self.store,
            escrow=EscrowOverRpc(self.escrow_rpc),
            now=clock.now(),
            metadata=metadata,
        )

    @rpc
    @domain_errors_cross
    def default_progress(self, merchant_id: str) -> dict:
        return defaults.default_progress(
            merchant_id, store=self.store, escrow=EscrowOverRpc(self.escrow_rpc)
        )

    @rpc
    @domain_errors_cross
    def reinstate(
        self, merchant_id: str, reason: str, regulator: str, metadata: dict | None = None
    ) -> dict:
        return reinstatement.reinstate(
            merchant_id,
            reason,
            regulator,
            store=self.store,
            risk=RiskOverRpc(self.risk_rpc),
            now=clock.now(),
            metadata=metadata,
        )

    @rpc
    @domain_errors_cross
    def get(self, merchant_id: str, viewer_is_owner: bool = False) -> dict:
        return queries.get_merchant(
            merchant_id, viewer_is_owner=viewer_is_owner, store=self.store, vault=self.vault
        )

    @rpc
    def forget(self, subject: str) -> dict:
        """Erases a person's personal data here (their key): a merchant's contact phone
        reads as erased (null) from then on."""
        self.vault.forget(subject)
        return {"service": self.name, "subject": subject, "erased": True}

    @rpc
    @domain_errors_cross
    def directory(
        self,
        industry: str | None = None,
        after: str = "",
        limit: int = 100,
        code: str | None = None,
        name: str | None = None,
    ) -> dict:
        return queries.directory(
            industry=industry, code=code, after=after, limit=limit, store=self.store, name=name
        )

    @rpc
    @domain_errors_cross
    def create_product(self, merchant_id: str, fields: dict, metadata: dict | None = None) -> dict:
        return commands.create_product(
            merchant_id, fields, store=self.store, policy=self.policy, metadata=metadata
        )

    @rpc
    @domain_errors_cross
    def product_for_sale(self, product_id: str) -> dict:
        return queries.product_for_sale(
            product_id, store=self.store, policy=self.policy, now=clock.now()
        )

    @rpc
    @domain_errors_cross
    def set_flag(
        self,
        merchant_id: str,
        flag: str,
        on: bool,
        source: str,
        set_by: str,
        metadata: dict | None = None,
    ) -> dict:
        return commands.set_flag(
            merchant_id, flag, on, source, set_by, store=self.store, metadata=metadata
        )

    @rpc
    @domain_errors_cross
    def create_promotion(
        self, merchant_id: str, fields: dict, created_by: str, metadata: dict | None = None
    ) -> dict:
        return commands.create_promotion(
            merchant_id,
            fields,
            created_by,
            store=self.store,
            policy=self.policy,
            now=clock.now(),
            metadata=metadata,
        )

    @rpc
    @domain_errors_cross
    def promotions(
        self, merchant_id: str, include_ended: bool = False, after: str = "", limit: int = 100
    ) -> dict:
        return queries.promotions(
            merchant_id,
            store=self.store,
            now=clock.now(),
            include_ended=include_ended,
            after=after,
            limit=limit,
        )

    @rpc
    @domain_errors_cross
    def names(self, merchant_ids: list[str]) -> dict[str, str]:
        """merchant id -> public name, for the merchants that exist among `merchant_ids`."""
        return queries.names(merchant_ids, store=self.store)

    @rpc
    @domain_errors_cross
    def profiles(self, merchant_ids: list[str]) -> dict[str, dict]:
        """merchant id -> {name, industry}, for the merchants that exist among them."""
        return queries.profiles(merchant_ids, store=self.store)

    @rpc
    @domain_errors_cross
    def get_product(self, product_id: str) -> dict:
        return queries.get_product(product_id, store=self.store)

    @rpc
    @domain_errors_cross
    def products(
        self, merchant_id: str, include_retired: bool = False, after: str = "", limit: int = 100
    ) -> dict:
        return queries.products_on_sale(
            merchant_id,
            store=self.store,
            now=clock.now(),
            include_retired=include_retired,
            after=after,
            limit=limit,
        )

    @rpc
    @domain_errors_cross
    def retire_product(
        self, merchant_id: str, product_id: str, retired_by: str, metadata: dict | None = None
    ) -> dict:
        return commands.retire_product(
            merchant_id,
            product_id,
            retired_by,
            store=self.store,
            now=clock.now(),
            metadata=metadata,
        )
