"""Payouts: the money released to each merchant, paid T+N days later, exactly once.

Several runs may settle at once: the escrow's timer, the demo clock over RPC, another
replica. Each run lists what is owed, then pays each merchant in one unit of work, and it pays
only what the owed rows still hold once it has the store's write lock: after its append (which
takes the lock on every adapter) it reads the rows again, and if another run paid them
meanwhile, or a release added to one, it rolls back and leaves them to the next run. So a
fen is never paid twice, and never cleared without being paid.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from eventstore import ConcurrencyError, EventStore, UnitOfWork
from eventstore.codec import event_fields
from policy import Policy
from services.escrow.application import bank_instructions, reconciliation
from services.escrow.application.ports import Bank
from services.escrow.application.projections import (
    DEFAULTS,
    MERCHANT_STATS,
    PAYOUTS,
    UNSETTLED,
    WITHHELD,
)
from services.escrow.application.store import CODEC
from services.escrow.domain import stats
from services.escrow.domain.events import PayoutMade, PayoutWithheld

Owed = list[tuple[str, dict]]
"""A merchant's unsettled rows as listed: (key "<day>|<merchant>", {merchant_id, day, amount})."""


class OwedChanged(Exception):
    """The rows a run listed changed before it held the lock: another run's turn."""


def settle(
    *,
    store: EventStore,
    bank: Bank,
    policy: Policy,
    now: datetime,
    new_id: Callable[[], str] = lambda: f"po-{uuid.uuid4().hex[:20]}",
) -> list[dict]:
    """Pays each merchant what was released to it on days at least `settlement_delay_days`
    old, one payout per merchant per run; the payout event and the cleared balances commit
    together, and the bank is asked after the commit (its reference is the payout id).

    A merchant declared defaulted is paid nothing: what it is owed is withheld instead
    (`PayoutWithheld`, with the same cleared balances), and stays in the escrow account for
    the regulator, who applies it to what the merchant owes its consumers."""
    last_day = (now - timedelta(days=policy.escrow.settlement_delay_days)).date().isoformat()
    owed: dict[str, Owed] = {}
    for key, doc in store.list_views(UNSETTLED, "", 5000):
        if doc["day"] > last_day:
            break
        owed.setdefault(doc["merchant_id"], []).append((key, doc))
    payouts = []
    for merchant_id, rows in owed.items():
        if store.get_view(DEFAULTS, merchant_id) is not None:
            _withhold(store, merchant_id, rows, now, new_id)
            continue
        paid = _pay(store, merchant_id, rows, now, new_id)
        if paid is not None:
            view, instruction = paid
            bank_instructions.send(store, bank, [instruction])
            payouts.append({"merchant_id": merchant_id, **view})
    return payouts


def _pay(
    store: EventStore, merchant_id: str, rows: Owed, now: datetime, new_id: Callable[[], str]
) -> tuple[dict, str] | None:
    """The payout's view and its bank instruction's key; None if another run had the rows."""
    event = PayoutMade(
        new_id(),
        merchant_id,
        sum(d["amount"] for _, d in rows),
        sorted({d["day"] for _, d in rows}),
        now.isoformat(),
    )
    view = {
        "payout_id": event.payout_id,
        "amount": event.amount,
        "days": event.days,
        "paid_at": event.paid_at,
    }
    try:
        with store.unit_of_work() as uow:
            _append_clearing(store, uow, merchant_id, event, rows)
            totals = uow.get_view(MERCHANT_STATS, merchant_id) or stats.empty(merchant_id)
            uow.put_view(
                MERCHANT_STATS,
                merchant_id,
                {**totals, "paid_out": totals["paid_out"] + event.amount},
            )
            uow.put_view(PAYOUTS, f"{merchant_id}/{event.paid_at}|{event.payout_id}", view)
            reconciliation.record(uow, reconciliation.movements_of(event.TYPE, event_fields(event)))
            instruction = bank_instructions.instruct(
                uow, "payout", event.payout_id, merchant_id, event.amount
            )
    except (ConcurrencyError, OwedChanged):
        return None  # another run is paying this merchant; whatever is left, the next run pays
    return view, instruction


def _withhold(
    store: EventStore, merchant_id: str, rows: Owed, now: datetime, new_id: Callable[[], str]
) -> None:
    event = PayoutWithheld(
        new_id(),
        merchant_id,
        sum(d["amount"] for _, d in rows),
        sorted({d["day"] for _, d in rows}),
        "merchant_defaulted",
        now.isoformat(),
    )
    try:
        with store.unit_of_work() as uow:
            _append_clearing(store, uow, merchant_id, event, rows)
            kept = uow.get_view(WITHHELD, merchant_id) or {
                "merchant_id": merchant_id,
                "amount": 0,
                "days": [],
            }
            uow.put_view(
                WITHHELD,
                merchant_id,
                {
                    **kept,
                    "amount": kept["amount"] + event.amount,
                    "days": sorted({*kept["days"], *event.days}),
                },
            )
    except (ConcurrencyError, OwedChanged):
        pass  # another run is settling this merchant; whatever is left, the next run withholds


def _append_clearing(
    store: EventStore,
    uow: UnitOfWork,
    merchant_id: str,
    event: PayoutMade | PayoutWithheld,
    rows: Owed,
) -> None:
    """Appends the payout (or withholding) to the merchant's payout stream and clears the rows
    it covers, if they still hold exactly what was listed. The append comes first because it
    takes the store's write lock; the rows are read again under it."""
    stream = f"payouts-{merchant_id}"
    uow.append(stream, [CODEC.encode(event)], len(store.read_stream(stream)))
    for key, listed in rows:
        if uow.get_view(UNSETTLED, key) != listed:
            raise OwedChanged(key)
        uow.delete_view(UNSETTLED, key)


def withheld(merchant_id: str, *, store: EventStore) -> dict:
    """What a defaulted merchant was owed and not paid: held for the regulator."""
    return store.get_view(WITHHELD, merchant_id) or {
        "merchant_id": merchant_id,
        "amount": 0,
        "days": [],
    }
