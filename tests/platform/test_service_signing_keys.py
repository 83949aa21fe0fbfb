"""Risk's and inspection's signing keys (services/dependencies.py, Ed25519KeyFile): made on
first start in demo mode only; in production every replica reads the one key mounted from a
Secret, and a replica that finds none refuses to start instead of making its own."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.dependencies import Ed25519KeyFile
from services.inspection.service import InspectionService
from services.key_files import MissingKeyFile
from services.risk.service import RiskService


def replica(provider: Ed25519KeyFile, path) -> Ed25519KeyFile:
    """A fresh copy of the service's own provider, as a new replica's container has."""
    fresh = Ed25519KeyFile(provider.config_key, provider.default_path, provider.needed_for)
    fresh.container = SimpleNamespace(config={provider.config_key: str(path)})
    fresh.setup()
    return fresh


PROVIDERS = [
    pytest.param(RiskService.signing, id="risk"),
    pytest.param(InspectionService.code_key, id="inspection"),
]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_production_never_creates_a_missing_key(provider, tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_MODE", "production")
    path = tmp_path / "secret" / "signing.pem"
    with pytest.raises(MissingKeyFile, match=provider.config_key):
        replica(provider, path)
    assert not path.exists() and not path.parent.exists(), "nothing was written"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_production_replicas_share_the_mounted_key(provider, tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_MODE", "production")
    mounted = tmp_path / "signing.pem"
    key = Ed25519PrivateKey.generate()
    mounted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    first, second = replica(provider, mounted), replica(provider, mounted)
    expected = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert first.key_id == second.key_id == expected.hex()[:16]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_demo_creates_the_key_once_and_keeps_it(provider, tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_MODE", "demo")
    path = tmp_path / "signing.pem"
    first = replica(provider, path)
    assert path.is_file()
    assert replica(provider, path).key_id == first.key_id
