"""A merchant store on SQLite, and one approved merchant in it, for the application tests."""

from __future__ import annotations

import pytest

from eventstore.sqlite import SqliteEventStore
from privacy import Vault
from services.merchant.application import commands
from tests.support.merchants import application


@pytest.fixture
def store(tmp_path):
    store = SqliteEventStore(tmp_path / "merchant.db")
    yield store
    store.close()


@pytest.fixture
def vault(tmp_path):
    return Vault(tmp_path / "vault.db")


@pytest.fixture
def merchant_id(store, vault) -> str:
    made = commands.apply_for_merchant(
        **application(), applied_by="operator:op-1", store=store, vault=vault
    )
    commands.approve_merchant(made["merchant_id"], "operator:op-2", store=store)
    return made["merchant_id"]
