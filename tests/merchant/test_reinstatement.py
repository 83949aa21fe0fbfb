"""Reinstating a delisted merchant, and a default's progress, as application workflows over a
real SQLite store with a fake risk service and escrow (no HTTP, no nameko)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.domain_errors import BusinessRuleViolation, Conflict, NotFound
from services.merchant.application import commands, defaults, reinstatement
from services.merchant.application.ports import DefaultProgress, HealthCode

NOW = datetime(2026, 9, 1, 9, tzinfo=UTC)


class FakeRisk:
    def __init__(self, health: HealthCode | None):
        self.health = health

    def code_of(self, merchant_id: str) -> HealthCode | None:
        return self.health


class FakeEscrow:
    def __init__(self, progress: DefaultProgress | None = None):
        self.progress = progress

    def default_progress(self, merchant_id: str) -> DefaultProgress | None:
        return self.progress


def _reinstate(store, merchant_id, health):
    return reinstatement.reinstate(
        merchant_id, "rectified", "regulator:r-1", store=store, risk=FakeRisk(health), now=NOW
    )


def test_a_delisted_merchant_red_only_for_its_delisting_is_relisted(store, merchant_id):
    commands.change_status(merchant_id, "delisted", "red too long", "risk", store=store)
    done = _reinstate(store, merchant_id, {"code": "red", "reasons": ["status:delisted"]})
    assert done == {
        "merchant_id": merchant_id,
        "status": "active",
        "reinstated_at": NOW.isoformat(),
    }
    with pytest.raises(Conflict) as again:
        _reinstate(store, merchant_id, {"code": "green", "reasons": []})
    assert again.value.code == "not_delisted"


def test_still_red_for_another_reason_is_refused_and_stays_delisted(store, merchant_id):
    commands.change_status(merchant_id, "delisted", "red too long", "risk", store=store)
    red = {"code": "red", "reasons": ["status:delisted", "flag:dishonest_debtor"]}
    with pytest.raises(BusinessRuleViolation) as refused:
        _reinstate(store, merchant_id, red)
    assert refused.value.code == "still_red"
    with pytest.raises(Conflict):  # still delisted: it cannot be approved or warned back
        commands.change_status(merchant_id, "warned", "", "x", store=store)
    assert _reinstate(store, merchant_id, {"code": "yellow", "reasons": ["x"]})["status"] == (
        "active"
    )


def test_not_delisted_and_unknown(store, merchant_id):
    with pytest.raises(Conflict) as refused:
        _reinstate(store, merchant_id, None)
    assert refused.value.code == "not_delisted"
    with pytest.raises(NotFound):
        _reinstate(store, "m-nobody", None)


def test_default_progress_from_none_to_proposed_to_refunding_to_finished(store, merchant_id):
    def progress(escrow=None):
        return defaults.default_progress(merchant_id, store=store, escrow=escrow or FakeEscrow())

    assert progress() == {
        "merchant_id": merchant_id,
        "status": "none",
        "cards_total": 0,
        "cards_refunded": 0,
        "amount_refunded": 0,
    }
    defaults.declare_default(
        merchant_id, "absconded", "regulator:r-1", store=store, escrow=FakeEscrow(), now=NOW
    )
    assert progress()["status"] == "proposed"
    running = FakeEscrow(
        {"cards_total": 10, "cards_refunded": 4, "amount_refunded": 4_000, "finished": False}
    )
    assert progress(running)["status"] == "refunding"
    assert progress(running)["cards_refunded"] == 4
    running.progress = {**running.progress, "cards_refunded": 10, "finished": True}
    assert progress(running)["status"] == "finished"
    with pytest.raises(NotFound):
        defaults.default_progress("m-nobody", store=store, escrow=FakeEscrow())
