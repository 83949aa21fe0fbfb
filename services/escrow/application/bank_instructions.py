"""Instructions to the bank, kept in the same transaction as the events that decide them.

A refund or payout is committed first and sent to the bank after. An instruction is stored
with the events and deleted once the bank has taken it, so a crash in between leaves it
pending, and the scheduled work sends it again. The bank takes each reference once, so a
second send after a crash that followed the first changes nothing.
"""

from __future__ import annotations

from eventstore import EventStore
from services.escrow.application.ports import Bank

PENDING = "bank_instructions"


def key_of(kind: str, reference: str, account: str) -> str:
    return f"{kind}|{reference}|{account}"


def instruct(uow, kind: str, reference: str, account: str, amount: int, **facts) -> str:
    """Inside the unit of work that records the refund or payout; returns its key. `facts`
    are kept with it: a refund's rule and time, which set when it is due."""
    key = key_of(kind, reference, account)
    uow.put_view(
        PENDING,
        key,
        {"kind": kind, "reference": reference, "account": account, "amount": amount, **facts},
    )
    return key


def send(store: EventStore, bank: Bank, keys: list[str] | None = None) -> int:
    """Sends the given pending instructions, or all of them; returns how many were sent."""
    if keys is None:
        pending = [(k, d) for k, d in store.list_views(PENDING, "", 5000)]
    else:
        pending = [(k, d) for k in keys if (d := store.get_view(PENDING, k)) is not None]
    for _, doc in pending:
        if doc["kind"] == "refund":
            bank.refund_to_origin(doc["reference"], doc["account"], doc["amount"])
        else:
            bank.payout(doc["reference"], doc["account"], doc["amount"])
    # One commit for the lot: a crash before it only means sending again what the bank
    # already took, which it ignores.
    if pending:
        with store.unit_of_work() as uow:
            for key, _ in pending:
                uow.delete_view(PENDING, key)
    return len(pending)
