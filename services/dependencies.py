"""nameko dependencies the services share: the personal-data vault and the policy."""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from policy import Policy, load_policy
from privacy import Vault


class VaultDependency(DependencyProvider):
    """The service's own key vault, from config VAULT_PATH (kept apart from its events)."""

    def setup(self) -> None:
        self.vault = Vault(self.container.config["VAULT_PATH"])

    def stop(self) -> None:
        self.vault.close()

    def get_dependency(self, worker_ctx) -> Vault:
        return self.vault


class PolicyDependency(DependencyProvider):
    """The policy file from config POLICY_FILE, or the shipped defaults."""

    def setup(self) -> None:
        self.policy = load_policy(self.container.config.get("POLICY_FILE"))

    def get_dependency(self, worker_ctx) -> Policy:
        return self.policy
