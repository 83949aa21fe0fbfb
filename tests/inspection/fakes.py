"""Fakes of the inspection application's ports, and a store and rules, for its unit tests."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eventstore.factory import open_store
from policy import load_policy
from services.inspection.application import commands
from services.inspection.domain.rules import InspectionRules

RULES = InspectionRules.from_policy(load_policy().inspection)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
KEY = Ed25519PrivateKey.generate()


class FakeLedger:
    def __init__(self, holds: bool = True):
        self.holds = holds
        self.asked: list[str] = []

    def receipt(self, event_id: str) -> dict | None:
        self.asked.append(event_id)
        return {"index": 0} if self.holds else None


class FakeClassifications:
    def __init__(self, merchants: list[dict], failing: frozenset[str] | set[str] = frozenset()):
        self.merchants = merchants
        self.failing = set(failing)
        self.checked: list[str] = []

    def eligible(self, department: str, kind: str) -> list[dict]:
        return list(self.merchants)

    def data_check(self, merchant_id: str) -> tuple[bool, list[dict]]:
        self.checked.append(merchant_id)
        passed = merchant_id not in self.failing
        check = {"check": "escrow_coverage", "passed": passed, "value": 1, "threshold": ">= 1"}
        return passed, [check]

    def tier(self, merchant_id: str) -> str | None:
        return next((m["tier"] for m in self.merchants if m["merchant_id"] == merchant_id), None)


def merchants(tier: str, count: int, prefix: str = "m") -> list[dict]:
    return [
        {
            "merchant_id": f"{prefix}-{tier}-{i:03d}",
            "tier": tier,
            "white_listed": False,
            "at_quota": False,
        }
        for i in range(count)
    ]


def sqlite_store(tmp_path, name: str = "inspection"):
    return open_store(f"sqlite:///{tmp_path / f'{name}.db'}")


def drawn_special_visit(
    store,
    *,
    department: str = "samr",
    tier: str = "D",
    period: str = "2026Q1",
    now: datetime = NOW,
    correlation: str = "c-1",
) -> tuple[dict, FakeClassifications]:
    """A special plan of `department` (a reason on record), opened and drawn at `now` over
    the tier's one merchant (`m-<tier>-000`): the draw's answer (its one visit, or none
    staffed) and the classifications it was drawn over. The roster is the caller's to enrol."""
    classified = FakeClassifications(merchants(tier, 1))
    opened = commands.open_plan(
        department,
        period,
        "special",
        "r",
        reason="投诉线索",
        store=store,
        classifications=classified,
        rules=RULES,
        now=now,
        metadata={"correlation_id": correlation},
    )
    answer = commands.draw(
        opened["plan_id"],
        "r",
        store=store,
        ledger=FakeLedger(),
        classifications=classified,
        rules=RULES,
        now=now,
    )
    return answer, classified
