"""A merchant's default as an application workflow, over a real SQLite store and a fake escrow:
no HTTP, no nameko."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from privacy import Vault
from services.domain_errors import BusinessRuleViolation
from services.merchant.application import defaults, queries
from services.merchant.application.ports import DefaultRefunds

NOW = datetime(2026, 9, 1, 9, tzinfo=UTC)


class FakeEscrow:
    """Refunds `cards` cards of 1,000 each, once: a repeat finds nothing left."""

    def __init__(self, cards: int = 3, fail: bool = False):
        self.open_cards, self.fail = cards, fail
        self.calls: list[tuple[str, str, str, dict | None]] = []
        self.totals: DefaultRefunds = {"cards_refunded": 0, "amount_refunded": 0}

    def refund_defaulted_merchant(
        self, merchant_id: str, reason: str, declared_by: str, metadata: dict | None
    ) -> DefaultRefunds:
        self.calls.append((merchant_id, reason, declared_by, metadata))
        if self.fail:
            raise ConnectionError("the escrow is not answering")
        self.totals = {
            "cards_refunded": self.totals["cards_refunded"] + self.open_cards,
            "amount_refunded": self.totals["amount_refunded"] + 1_000 * self.open_cards,
        }
        self.open_cards = 0
        return self.totals.copy()


def declare(store, merchant_id, regulator, escrow, reason="the owner vanished"):
    return defaults.declare_default(
        merchant_id,
        reason,
        regulator,
        store=store,
        escrow=escrow,
        now=NOW,
        metadata={"correlation_id": "corr-1"},
    )


def status(store, merchant_id) -> str:
    return queries.get_merchant(
        merchant_id,
        viewer_is_owner=False,
        store=store,
        vault=Vault(Path(store.path).parent / "vault.db"),
    )["status"]


def test_a_proposal_refunds_nothing(store, merchant_id):
    escrow = FakeEscrow()
    proposed = declare(store, merchant_id, "regulator:r-1", escrow)
    assert proposed == {
        "merchant_id": merchant_id,
        "status": "default_proposed",
        "reason": "the owner vanished",
        "proposed_by": "regulator:r-1",
        "proposed_at": NOW.isoformat(),
    }
    assert escrow.calls == []
    with pytest.raises(BusinessRuleViolation) as alone:
        declare(store, merchant_id, "regulator:r-1", escrow)
    assert alone.value.code == "second_regulator_required"
    assert escrow.calls == [] and status(store, merchant_id) == "active"


def test_the_confirmation_defaults_the_merchant_and_refunds_once(store, merchant_id):
    escrow = FakeEscrow(cards=3)
    declare(store, merchant_id, "regulator:r-1", escrow)
    done = declare(store, merchant_id, "regulator:r-2", escrow, reason="confirmed on site")
    assert done == {
        "merchant_id": merchant_id,
        "status": "defaulted",
        "cards_refunded": 3,
        "amount_refunded": 3_000,
    }
    assert escrow.calls == [
        (merchant_id, "confirmed on site", "regulator:r-2", {"correlation_id": "corr-1"})
    ]
    assert status(store, merchant_id) == "defaulted"


def test_a_repeat_on_a_defaulted_merchant_resumes_the_refund(store, merchant_id):
    declare(store, merchant_id, "regulator:r-1", FakeEscrow())
    down = FakeEscrow(cards=2, fail=True)
    with pytest.raises(ConnectionError):
        declare(store, merchant_id, "regulator:r-2", down)
    assert status(store, merchant_id) == "defaulted", "the default stands without its refund"
    down.fail = False
    again = declare(store, merchant_id, "regulator:r-3", down)
    assert again["status"] == "defaulted" and again["cards_refunded"] == 2
    assert declare(store, merchant_id, "regulator:r-1", down)["cards_refunded"] == 2, (
        "nothing is refunded twice"
    )
    assert len(store.read_stream(f"merchant-{merchant_id}")) == 2 + 3, (
        "applied, approved, proposed, confirmed, defaulted: a repeat adds no event"
    )
