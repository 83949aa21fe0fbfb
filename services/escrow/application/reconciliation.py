"""Daily reconciliation: the bank's statement against the escrow's own money movements.

Each money movement the escrow recorded on a day must appear on that day's statement with the
same reference and amount, and nothing else may: deposits (the payment id), refunds by the
original route (the card's payment id) and payouts (the payout id). Every difference is
reported; a clean day has none.

The movements the bank should show are a view (`MOVEMENTS`), written in the unit of work that
commits each movement and keyed "<day>|<kind>|<reference>|<amount>", so a day is read by its
prefix alone, however many days the store holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from eventstore import EventStore, UnitOfWork

MOVEMENTS = "bank_movements"
"""Keyed "<day>|<kind>|<reference>|<amount>" -> {kind, reference, amount, count}: what the
bank's statement of that day should show (a reference may move the same amount twice)."""

Movement = tuple[str, str, str, int]
"""(day, kind, reference, amount)."""

_STAMPED = {
    "escrow.DepositConfirmed.v1": ("deposit", "payment_id", "amount", "confirmed_at"),
    "escrow.PayoutMade.v1": ("payout", "payout_id", "amount", "paid_at"),
}


MOVING_EVENTS = frozenset({"escrow.CardRefunded.v1", "escrow.DepositReturned.v1", *_STAMPED})
"""The escrow events that move money at the bank."""


def movements_of(event_type: str, data: dict, payment_id: str | None = None) -> list[Movement]:
    """The bank movements one escrow event makes; `payment_id` is its card's (a refund names
    only the card)."""
    if event_type == "escrow.CardRefunded.v1":
        if not data["refund_amount"]:
            return []
        return [(data["refunded_at"][:10], "refund", str(payment_id), data["refund_amount"])]
    if event_type == "escrow.DepositReturned.v1":
        # The bank took the money and the card was never activated: in and straight out.
        day, reference, amount = data["returned_at"][:10], data["payment_id"], data["amount"]
        return [(day, "deposit", reference, amount), (day, "refund", reference, amount)]
    if event_type in _STAMPED:
        kind, reference, amount, stamp = _STAMPED[event_type]
        return [(data[stamp][:10], kind, data[reference], data[amount])]
    return []


def movement_key(day: str, kind: str, reference: str, amount: int) -> str:
    return f"{day}|{kind}|{reference}|{amount}"


def record(uow: UnitOfWork, movements: Iterable[Movement]) -> None:
    """Adds the movements to the view, in the caller's unit of work (the one committing them)."""
    for day, kind, reference, amount in movements:
        key = movement_key(day, kind, reference, amount)
        found = uow.get_view(MOVEMENTS, key)
        count = found["count"] if found else 0
        uow.put_view(
            MOVEMENTS,
            key,
            {"kind": kind, "reference": reference, "amount": amount, "count": count + 1},
        )


def expected_movements(store: EventStore, day: str, page: int = 500) -> Counter:
    """(kind, reference, amount) -> how many times the bank should show it on `day`."""
    prefix, after = f"{day}|", f"{day}|"
    expected: Counter = Counter()
    while rows := store.list_views(MOVEMENTS, after, page):
        for key, doc in rows:
            if not key.startswith(prefix):
                return expected
            expected[(doc["kind"], doc["reference"], doc["amount"])] += doc["count"]
        if len(rows) < page:
            break
        after = rows[-1][0]
    return expected


def earliest_day(store: EventStore) -> str | None:
    """The first day with a movement, if any."""
    first = store.list_views(MOVEMENTS, "", 1)
    return first[0][0][:10] if first else None


def reconcile(day: str, statement: list[dict], *, store: EventStore) -> dict:
    """{"day", "matched", "missing_at_bank": [...], "unexpected_at_bank": [...]}."""
    expected = expected_movements(store, day)
    seen = Counter(
        (line["kind"], line["reference"], line["amount"]) for line in statement if line["amount"]
    )
    as_dicts = lambda counter: [  # noqa: E731
        {"kind": k, "reference": r, "amount": a, "count": n}
        for (k, r, a), n in sorted(counter.items())
    ]
    return {
        "day": day,
        "matched": sum((expected & seen).values()),
        "missing_at_bank": as_dicts(expected - seen),
        "unexpected_at_bank": as_dicts(seen - expected),
    }
