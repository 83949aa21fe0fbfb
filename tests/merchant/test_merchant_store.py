"""The merchant's load → decide → commit loop over a real SQLite store."""

from __future__ import annotations

import pytest

from eventstore.sqlite import SqliteEventStore
from privacy import Vault
from services.domain_errors import Conflict
from services.merchant.application import commands, projections
from services.merchant.application.store import decide, events_of, load_merchant
from services.merchant.domain import model
from tests.support.merchants import application


@pytest.fixture
def store(tmp_path):
    store = SqliteEventStore(tmp_path / "merchant.db")
    yield store
    store.close()


@pytest.fixture
def merchant_id(store, tmp_path) -> str:
    made = commands.apply_for_merchant(
        **application(), applied_by="operator:op-1", store=store, vault=Vault(tmp_path / "vault.db")
    )
    commands.approve_merchant(made["merchant_id"], "operator:op-2", store=store)
    return made["merchant_id"]


def test_a_decision_commits_its_events_and_the_card_in_one_go(store, merchant_id):
    done = decide(
        store,
        merchant_id,
        lambda m: events_of(model.change_status(m, "warned", "late refunds", "regulator:r-1")),
        None,
    )
    assert done.aggregate.status == "warned" and done.aggregate.version == 3
    card = store.get_view(projections.DIRECTORY, merchant_id)
    assert card is not None and (card["status"], card["version"]) == ("warned", 3)
    assert load_merchant(store, merchant_id).status == "warned"


def test_a_concurrent_writer_wins_and_the_other_gets_version_conflict(store, merchant_id):
    def decide_while_another_writes(merchant: model.Merchant) -> list[object]:
        commands.set_flag(
            merchant_id, "closure_notice", True, "gazette", "operator:op-3", store=store
        )
        return events_of(model.change_status(merchant, "warned", "late", "regulator:r-1"))

    with pytest.raises(Conflict) as lost:
        decide(store, merchant_id, decide_while_another_writes, None)
    assert (lost.value.code, lost.value.message) == (
        "version_conflict",
        "the merchant changed meanwhile; retry",
    )
    merchant = load_merchant(store, merchant_id)
    assert (merchant.status, merchant.flags) == ("active", {"closure_notice"})


def test_closing_a_merchant_frees_its_uscc_in_the_same_commit(store, merchant_id, tmp_path):
    commands.change_status(merchant_id, "closed", "retired", "operator:op-1", store=store)
    again = commands.apply_for_merchant(
        **application(), applied_by="operator:op-1", store=store, vault=Vault(tmp_path / "vault.db")
    )
    assert again["status"] == "pending"
    with pytest.raises(Conflict) as taken:
        commands.apply_for_merchant(
            **application(),
            applied_by="operator:op-1",
            store=store,
            vault=Vault(tmp_path / "vault.db"),
        )
    assert taken.value.code == "uscc_taken"
