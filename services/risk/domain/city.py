"""The city's figures: what one merchant adds to its industry's row, and the sums.

Stdlib only. A merchant's share is computed from its figures and its code each time either
changes; the application keeps the share last counted and moves the rows by the difference,
so a row is always the sum of its merchants' shares whatever order the events came in.
Money is fen; coverage is basis points (1/100 of a percent), never a float.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.risk.domain.indicators import MerchantFigures

CODES = ("green", "yellow", "red")
COUNTS = ("merchants", "cards_issued", "outstanding_liability", "escrow_held", "refunds")
FIGURES = (*COUNTS, "complaints")
UNKNOWN_INDUSTRY = "other"
"""A merchant whose application the risk service has not seen yet is counted here until it
does (the merchant's queue may deliver a card purchase before its application)."""


def empty_row() -> dict:
    return {**dict.fromkeys(FIGURES, 0), "by_code": dict.fromkeys(CODES, 0)}


def share(figures: MerchantFigures, code: str, industry: str | None) -> dict:
    """What this merchant adds to its industry's row. `refunds` is the money refunded (fen);
    `complaints` the complaints filed, less those a regulator found unfounded."""
    row = empty_row()
    row.update(
        merchants=1,
        cards_issued=sum(day["issued_cards"] for day in figures.days.values()),
        outstanding_liability=figures.outstanding,
        escrow_held=figures.escrow_held,
        refunds=figures.refunded,
        complaints=len(set(figures.complaints_opened) - figures.unfounded_complaints),
    )
    row["by_code"][code] = 1
    return {"industry": industry or UNKNOWN_INDUSTRY, "row": row}


def moved(row: dict, delta: dict, sign: int) -> dict:
    """`row` with `delta` added (sign 1) or taken away (sign -1)."""
    return {
        **{name: row[name] + sign * delta[name] for name in FIGURES},
        "by_code": {code: row["by_code"][code] + sign * delta["by_code"][code] for code in CODES},
    }


def total(rows: Iterable[dict]) -> dict:
    summed = empty_row()
    for row in rows:
        summed = moved(summed, row, 1)
    return summed


def coverage_bp(row: dict) -> int | None:
    """Escrow held over outstanding liability, in basis points; None when nothing is owed."""
    if row["outstanding_liability"] <= 0:
        return None
    return row["escrow_held"] * 10_000 // row["outstanding_liability"]
