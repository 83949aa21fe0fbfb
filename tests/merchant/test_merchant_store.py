"""The merchant's load → decide → commit loop over a real SQLite store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from policy import load_policy
from privacy import Vault
from services.domain_errors import Conflict
from services.merchant.application import commands, projections, queries
from services.merchant.application.store import decide, events_of, load_merchant, product_stream
from services.merchant.domain import model
from tests.support.merchants import application


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


NAMES = ("d", "a", "e", "b", "c")


def _products(store, merchant_id, names=NAMES, prefixes=("f9", "0a", "c3", "55", "81")):
    """Products created in the order of `names`, with ids that sort in another order."""
    made = []
    for name, hexa in zip(names, prefixes, strict=True):
        made.append(
            commands.create_product(
                merchant_id,
                {"type": "count", "name": name, "price": 1_000, "uses": 5, "validity_days": 90},
                store=store,
                policy=load_policy(),
                new_id=lambda hexa=hexa: f"p-{hexa}{uuid.uuid4().hex[:8]}",
            )["product_id"]
        )
    assert len(made) == 1 or sorted(made) != made, "the ids alone would list them otherwise"
    return made


def _listed(store, merchant_id, limit=2, **options) -> list[str]:
    listed, after = [], ""
    while True:
        page = queries.products_on_sale(
            merchant_id, store=store, now=datetime.now(UTC), after=after, limit=limit, **options
        )
        listed += [p["product_id"] for p in page["items"]]
        if page["next_after"] is None:
            return listed
        after = page["next_after"]


def test_a_merchants_products_are_listed_oldest_first_page_by_page(store, merchant_id):
    made = _products(store, merchant_id)
    assert _listed(store, merchant_id) == made
    commands.retire_product(merchant_id, made[1], "merchant:m", store=store, now=datetime.now(UTC))
    assert _listed(store, merchant_id) == made[:1] + made[2:]
    assert _listed(store, merchant_id, include_retired=True, limit=100) == made


def test_the_backfill_lists_products_from_before_the_list_in_creation_order(store, merchant_id):
    made = _products(store, merchant_id)
    with store.unit_of_work() as uow:  # a store from before the merchants' product lists
        for key, _ in store.list_views(projections.PRODUCTS_BY_MERCHANT, "", 1000):
            uow.delete_view(projections.PRODUCTS_BY_MERCHANT, key)
        for product_id in made:
            uow.delete_view(projections.PRODUCT_PLACES, product_id)
        uow.delete_view(projections.PRODUCT_COUNTS, merchant_id)
    assert _listed(store, merchant_id) == []
    assert projections.backfill_product_index(store, product_stream) == len(made)
    assert _listed(store, merchant_id) == made
    assert projections.backfill_product_index(store, product_stream) == 0, "once"
    later = _products(store, merchant_id, names=("f",), prefixes=("00",))  # the lowest id
    assert _listed(store, merchant_id) == made + later
