"""Which bank adapter the escrow runs with (config BANK_ADAPTER).

Only `simulated` exists today, and it confirms every deposit without any payment, so it runs
in demo mode only: production refuses to start until a real bank adapter is built behind the
escrow's bank port (services/escrow/application/ports.py) and configured.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from services.escrow.adapters.bank_movements import PostgresMovements
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application.ports import Bank

DEMO_ONLY = ("simulated",)


class BankAdapterRefused(RuntimeError):
    """The configured adapter cannot run in this mode (or does not exist)."""


def choose_bank(
    mode: str,
    adapter: str | None,
    statement_dir: str | Path,
    clock: Callable[[], datetime],
    statement_url: str | None = None,
) -> Bank:
    """`statement_url` (config BANK_STATEMENT_URL, postgresql://...?schema=escrow), when given,
    keeps the simulated bank's statements where every escrow replica sees them; else they are
    files in `statement_dir`."""
    adapter = adapter or ("simulated" if mode == "demo" else "")
    if mode != "demo" and adapter in ("", *DEMO_ONLY):
        raise BankAdapterRefused(
            f"{mode} mode needs a real bank adapter (BANK_ADAPTER), and "
            f"{adapter or 'none'!r} is not one: the simulated bank confirms every deposit "
            "without payment and runs in demo mode only (PLATFORM_MODE=demo)"
        )
    if adapter != "simulated":
        raise BankAdapterRefused(
            f"unknown BANK_ADAPTER {adapter!r}; the only adapter built"
            " is 'simulated', for demo mode"
        )
    if statement_url:
        return SimulatedBank(PostgresMovements(statement_url), clock=clock)
    return SimulatedBank(statement_dir, clock=clock)
