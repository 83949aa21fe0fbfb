"""The simulated escrow bank of demo mode: confirms deposits at once and writes every
movement to a daily statement file (JSON lines, one file per UTC day), the file the real
bank would send for reconciliation."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path


class SimulatedBank:
    """Takes each (kind, reference, account) once, as a real bank takes a client reference
    once: the escrow may send an instruction again after a crash."""

    def __init__(
        self, statement_dir: str | Path, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ):
        self.statement_dir = Path(statement_dir)
        self.statement_dir.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self._lock = threading.Lock()
        self._taken = {
            (m["kind"], m["reference"], m["account"])
            for f in sorted(self.statement_dir.glob("*.jsonl"))
            for m in map(json.loads, f.read_text().splitlines())
        }

    def _record(self, kind: str, reference: str, account: str, amount: int) -> None:
        now = self.clock()
        line = json.dumps(
            {
                "at": now.isoformat(),
                "kind": kind,
                "reference": reference,
                "account": account,
                "amount": amount,
            },
            sort_keys=True,
        )
        with self._lock:
            if (kind, reference, account) in self._taken:
                return
            with open(self.statement_dir / f"{now.date().isoformat()}.jsonl", "a") as f:
                f.write(line + "\n")
            self._taken.add((kind, reference, account))

    def request_deposit(self, payment_id: str, card_id: str, amount: int) -> bool:
        self._record("deposit", payment_id, card_id, amount)
        return True

    def refund_to_origin(self, payment_id: str, card_id: str, amount: int) -> None:
        self._record("refund", payment_id, card_id, amount)

    def payout(self, payout_id: str, merchant_id: str, amount: int) -> None:
        self._record("payout", payout_id, merchant_id, amount)

    def statement(self, day: str) -> list[dict]:
        path = self.statement_dir / f"{day}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]
