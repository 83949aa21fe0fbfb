"""The escrow's view migrations on a real SQLite store: the dispute views written under their
old collection names are moved to the new ones when the service opens its store."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from eventstore.sqlite import SqliteEventStore
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import commands, migrations, queries, scheduled_work
from services.escrow.application.migrations import OLD_CARD_OF_COMPLAINT, OLD_DISPUTES_BY_CARD
from services.escrow.application.projections import CARD_OF_COMPLAINT, DISPUTES_BY_CARD
from services.escrow.service import EscrowStoreDependency
from tests.support.escrow_cards import POLICY, T0, buy_period


@pytest.fixture
def env(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db")
    yield store, SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    store.close()


def write_old_disputes(store, disputes: dict[str, list[str]]) -> None:
    """What the service wrote before the rename: card -> complaints, complaint -> card."""
    with store.unit_of_work() as uow:
        for card_id, complaints in disputes.items():
            uow.put_view(OLD_DISPUTES_BY_CARD, card_id, {"complaints": complaints})
            for complaint_id in complaints:
                uow.put_view(OLD_CARD_OF_COMPLAINT, complaint_id, {"card_id": card_id})


def test_old_dispute_rows_are_moved_to_the_new_names_and_a_second_run_changes_nothing(env):
    store, _ = env
    disputes = {f"card-{i}": [f"cp-{i}a", f"cp-{i}b"] for i in range(5)}
    write_old_disputes(store, disputes)

    assert migrations.rename_views(store, page=2) == 15  # 5 cards and 10 complaints, paged

    assert store.list_views(OLD_DISPUTES_BY_CARD, "", 100) == []
    assert store.list_views(OLD_CARD_OF_COMPLAINT, "", 100) == []
    assert dict(store.list_views(DISPUTES_BY_CARD, "", 100)) == {
        card_id: {"complaints": complaints} for card_id, complaints in disputes.items()
    }
    assert dict(store.list_views(CARD_OF_COMPLAINT, "", 100)) == {
        complaint_id: {"card_id": card_id}
        for card_id, complaints in disputes.items()
        for complaint_id in complaints
    }

    moved = (
        store.list_views(DISPUTES_BY_CARD, "", 100),
        store.list_views(CARD_OF_COMPLAINT, "", 100),
    )
    assert migrations.rename_views(store) == 0
    assert (
        store.list_views(DISPUTES_BY_CARD, "", 100),
        store.list_views(CARD_OF_COMPLAINT, "", 100),
    ) == moved


def test_a_card_already_disputed_under_the_new_name_keeps_every_complaint(env):
    store, _ = env
    with store.unit_of_work() as uow:
        commands.open_dispute(uow, "cp-new", "card-1")
    write_old_disputes(store, {"card-1": ["cp-old"]})
    migrations.migrate(store)
    assert store.get_view(DISPUTES_BY_CARD, "card-1") == {"complaints": ["cp-new", "cp-old"]}
    assert store.get_view(CARD_OF_COMPLAINT, "cp-old") == {"card_id": "card-1"}


def test_a_dispute_opened_before_the_rename_still_holds_releases_and_closes(env):
    store, bank = env
    card_id = buy_period(store, bank)
    write_old_disputes(store, {card_id: ["cp-1"]})
    migrations.migrate(store)
    scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=T0 + timedelta(days=10))
    assert queries.get_card(card_id, store=store)["released_amount"] == 0
    with store.unit_of_work() as uow:
        commands.close_dispute(uow, "cp-1")  # the resolution finds its card under the new name
    scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=T0 + timedelta(days=12))
    assert queries.get_card(card_id, store=store)["released_amount"] == 12_000


def test_the_escrow_service_migrates_its_store_when_it_opens_it(tmp_path):
    path = tmp_path / "escrow.db"
    old = SqliteEventStore(path)
    write_old_disputes(old, {"card-1": ["cp-1"]})
    old.close()

    dependency = EscrowStoreDependency()
    dependency.container = SimpleNamespace(config={"STORE_URL": f"sqlite:///{path}"})
    dependency.setup()
    try:
        store = dependency.store
        assert store is not None
        assert store.get_view(DISPUTES_BY_CARD, "card-1") == {"complaints": ["cp-1"]}
        assert store.list_views(OLD_DISPUTES_BY_CARD, "", 10) == []
    finally:
        dependency.stop()
