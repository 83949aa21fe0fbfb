"""nameko dependencies the services share: the personal-data vault, the policy, and a
service's own Ed25519 signing key."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.extensions import DependencyProvider

import privacy.postgres  # noqa: F401 - loaded at import, not in a dependency's greenthread
from policy import Policy, load_policy
from privacy import Vault, open_vault
from services.key_files import load_key_file
from services.platform_mode import platform_mode


class VaultDependency(DependencyProvider):
    """The service's own key vault (kept apart from its events): the file config VAULT_PATH,
    or, shared by the service's replicas, config VAULT_URL=postgresql://...?schema=<service>
    with its key-encryption key from VAULT_KEK_FILE or VAULT_KEK (privacy.open_vault)."""

    def setup(self) -> None:
        self.vault = open_vault(self.container.config)

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


class Ed25519KeyFile(DependencyProvider):
    """A service's Ed25519 private key, from the PEM file config `config_key` names (else
    `default_path`). In demo mode it is made on first start (services/key_files.py: never
    half-written, never replaced); in production it must be there, mounted from a Secret that
    every replica shares, and a replica that finds none fails to start rather than make its
    own. The dependency is this provider: `.key`, and `.key_id`, the first 16 hex of the raw
    public key."""

    def __init__(self, config_key: str, default_path: str, needed_for: str) -> None:
        self.config_key = config_key
        self.default_path = default_path
        self.needed_for = needed_for

    def setup(self) -> None:
        path = Path(self.container.config.get(self.config_key, self.default_path))
        pem = load_key_file(
            path,
            lambda: Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            create=platform_mode() == "demo",
            what=f"Ed25519 private key ({self.config_key}, for {self.needed_for})",
        )
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} holds no Ed25519 private key; {self.needed_for} need one")
        self.key = key
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = raw.hex()[:16]

    def get_dependency(self, worker_ctx) -> Ed25519KeyFile:
        return self
