"""Daily reconciliation: the bank's statement against the escrow's own events.

Each money movement the escrow recorded on a day must appear on that day's statement with the
same reference and amount, and nothing else may: deposits (the payment id), refunds by the
original route (the card's payment id) and payouts (the payout id). Every difference is
reported; a clean day has none.
"""

from __future__ import annotations

from collections import Counter

from eventstore import EventStore

KINDS = {
    "escrow.DepositConfirmed.v1": ("deposit", "payment_id", "amount", "confirmed_at"),
    "escrow.PayoutMade.v1": ("payout", "payout_id", "amount", "paid_at"),
}


def expected_movements(store: EventStore, day: str) -> Counter:
    payments: dict[str, str] = {}
    expected: Counter = Counter()
    for event in store.iter_all():
        data = event.data
        if event.type == "escrow.CardPurchased.v1":
            payments[data["card_id"]] = data["payment_id"]
        elif event.type == "escrow.CardRefunded.v1" and data["refunded_at"][:10] == day:
            if data["refund_amount"]:
                expected[("refund", payments[data["card_id"]], data["refund_amount"])] += 1
        elif event.type == "escrow.DepositReturned.v1" and data["returned_at"][:10] == day:
            # The bank took the money and the card was never activated: in and straight out.
            expected[("deposit", data["payment_id"], data["amount"])] += 1
            expected[("refund", data["payment_id"], data["amount"])] += 1
        elif event.type in KINDS:
            kind, reference, amount, stamp = KINDS[event.type]
            if data[stamp][:10] == day:
                expected[(kind, data[reference], data[amount])] += 1
    return expected


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
