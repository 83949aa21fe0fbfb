"""The simulated escrow bank of demo mode: confirms deposits at once and records every
movement in its statements, what the real bank would send for reconciliation. The statements
are daily files (JSON lines, one file per UTC day; config BANK_STATEMENT_DIR) on one machine,
or rows in the escrow's PostgreSQL schema (config BANK_STATEMENT_URL,
adapters/bank_movements.py), which every escrow replica shares."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol


class Movements(Protocol):
    def take(self, movement: dict) -> None:
        """Records the movement unless its (kind, reference, account) is recorded already."""

    def day(self, day: str) -> list[dict]:
        """The movements of a UTC day (YYYY-MM-DD), in the order they were recorded."""


class FileMovements:
    """One JSON-lines file per UTC day in a folder."""

    def __init__(self, statement_dir: str | Path):
        self.statement_dir = Path(statement_dir)
        self.statement_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._taken = {
            (m["kind"], m["reference"], m["account"])
            for f in sorted(self.statement_dir.glob("*.jsonl"))
            for m in map(json.loads, f.read_text().splitlines())
        }

    def take(self, movement: dict) -> None:
        key = (movement["kind"], movement["reference"], movement["account"])
        with self._lock:
            if key in self._taken:
                return
            with open(self.statement_dir / f"{movement['at'][:10]}.jsonl", "a") as f:
                f.write(json.dumps(movement, sort_keys=True) + "\n")
            self._taken.add(key)

    def day(self, day: str) -> list[dict]:
        path = self.statement_dir / f"{day}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]


class SimulatedBank:
    """Takes each (kind, reference, account) once, as a real bank takes a client reference
    once: the escrow may send an instruction again after a crash."""

    def __init__(
        self,
        statements: str | Path | Movements,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.movements: Movements = (
            FileMovements(statements) if isinstance(statements, (str, Path)) else statements
        )
        self.clock = clock

    @property
    def statement_dir(self) -> Path | None:
        """The folder of the daily files, when the statements are files."""
        return getattr(self.movements, "statement_dir", None)

    def _record(self, kind: str, reference: str, account: str, amount: int) -> None:
        at = self.clock()
        self.movements.take(
            {
                "at": at.isoformat(),
                "kind": kind,
                "reference": reference,
                "account": account,
                "amount": amount,
            }
        )

    def request_deposit(self, payment_id: str, card_id: str, amount: int) -> bool:
        self._record("deposit", payment_id, card_id, amount)
        return True

    def refund_to_origin(self, payment_id: str, card_id: str, amount: int) -> None:
        self._record("refund", payment_id, card_id, amount)

    def payout(self, payout_id: str, merchant_id: str, amount: int) -> None:
        self._record("payout", payout_id, merchant_id, amount)

    def statement(self, day: str) -> list[dict]:
        return self.movements.day(day)
