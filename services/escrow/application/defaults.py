"""A merchant's default, declared by a regulator: every open card of the merchant refunded
from escrow by the `merchant_default` rule, in batches, resumable, and never twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from eventstore import ConcurrencyError, EventStore
from policy import Policy
from services.domain_errors import Conflict
from services.escrow.application import bank_instructions
from services.escrow.application.ports import Bank
from services.escrow.application.projections import BY_MERCHANT, DEFAULTS
from services.escrow.application.store import append_card, load_card
from services.escrow.domain import refunds
from services.escrow.domain.card import Card
from services.event_sourcing import RetryPolicy

DEFAULT_BATCH = 100
BATCH_RETRY = RetryPolicy(
    50, "cards of this merchant are too busy; retry the default", "cards_busy"
)
"""A batch lost to a command on one of its cards is refunded again on the fresh cards."""


def default_merchant(
    merchant_id: str,
    reason: str,
    declared_by: str,
    *,
    store: EventStore,
    bank: Bank,
    policy: Policy,
    now: datetime,
    metadata: dict | None = None,
    between_batches: Callable[[], None] = lambda: None,
) -> dict:
    """Refunds every open card of a defaulted merchant by the `merchant_default` rule.

    Cards go in batches, each batch one unit of work (one fsync), with the progress saved in
    the same transaction, so a crash resumes where it stopped and a repeat refunds nothing
    twice. Returns the totals over every card this merchant's default has refunded.
    `between_batches` lets the caller's other work run meanwhile (eventlet's sleep(0) in the
    service: SQLite never yields to the hub by itself).
    """
    progress = store.get_view(DEFAULTS, merchant_id) or {
        "merchant_id": merchant_id,
        "reason": reason,
        "declared_by": declared_by,
        "cards_refunded": 0,
        "amount_refunded": 0,
        "finished": False,
    }
    if store.get_view(DEFAULTS, merchant_id) is None:
        # Recorded before any card is touched: from now on no redemption is requested, no
        # late deposit activates a card, and no payout goes to the merchant. The open cards
        # are counted just before, for the progress bar only: a card that opens in between
        # is still refunded below (every active card is), and the total then reads as at
        # least what was refunded (default_progress).
        with store.unit_of_work() as uow:
            progress["cards_total"] = _open_cards(store, merchant_id)
            uow.put_view(DEFAULTS, merchant_id, progress)
    cursor, prefix = f"{merchant_id}/", f"{merchant_id}/"
    while True:
        page = [
            (k, v)
            for k, v in store.list_views(BY_MERCHANT, cursor, DEFAULT_BATCH)
            if k.startswith(prefix)
        ]
        if not page:
            break
        cursor = page[-1][0]
        refunded = _refund_batch(
            store,
            [v["card_id"] for _, v in page if v["status"] == "active"],
            progress,
            policy,
            now,
            metadata or {},
        )
        bank_instructions.send(
            store,
            bank,
            [
                bank_instructions.key_of("refund", card.purchase.payment_id, card.card_id)
                for card, _ in refunded
            ],
        )
        between_batches()
    progress["finished"] = True
    with store.unit_of_work() as uow:
        uow.put_view(DEFAULTS, merchant_id, progress)
    return {
        "cards_refunded": progress["cards_refunded"],
        "amount_refunded": progress["amount_refunded"],
    }


def _refund_batch(
    store: EventStore,
    card_ids: list[str],
    progress: dict,
    policy: Policy,
    now: datetime,
    metadata: dict,
) -> list[tuple[Card, int]]:
    """The batch's cards are read and refunded inside its one unit of work (under SQLite's
    write lock), each appended and projected by `append_card`; a command on one of them
    meanwhile fails the append, and the whole batch is taken again (`BATCH_RETRY`)."""
    for _ in range(BATCH_RETRY.attempts):
        done = []
        try:
            with store.unit_of_work() as uow:
                for card_id in card_ids:
                    card = load_card(store, card_id)
                    if card.status != "active":
                        continue
                    events = refunds.refund(
                        card,
                        "merchant_default",
                        now,
                        cooling_off_days=policy.refunds.cooling_off_days,
                    )
                    append_card(uow, card, events, metadata)
                    done.append((card, events[-1].refund_amount))
                updated = {
                    **progress,
                    "cards_refunded": progress["cards_refunded"] + len(done),
                    "amount_refunded": progress["amount_refunded"]
                    + sum(amount for _, amount in done),
                }
                uow.put_view(DEFAULTS, progress["merchant_id"], updated)
            # The caller's progress moves only once the batch is committed: a lost batch
            # counts nothing, and its retry counts the cards it refunds.
            progress.update(updated)
            return done
        except ConcurrencyError:
            continue
    raise Conflict(BATCH_RETRY.message, BATCH_RETRY.code)


def _open_cards(store: EventStore, merchant_id: str) -> int:
    count, cursor, prefix = 0, f"{merchant_id}/", f"{merchant_id}/"
    while page := store.list_views(BY_MERCHANT, cursor, 1000):
        mine = [v for k, v in page if k.startswith(prefix)]
        count += sum(1 for v in mine if v["status"] == "active")
        cursor = page[-1][0]
        if len(mine) < len(page) or len(page) < 1000:
            break
    return count


def default_progress(merchant_id: str, *, store: EventStore) -> dict | None:
    """{cards_total, cards_refunded, amount_refunded, finished}: how far the refund of the
    merchant's default got; None when none began. A refund begun before the open cards
    were counted answers what it refunded as its total once finished."""
    progress = store.get_view(DEFAULTS, merchant_id)
    if progress is None:
        return None
    total = progress.get("cards_total")
    if total is None:
        total = progress["cards_refunded"] if progress["finished"] else None
    else:
        total = max(total, progress["cards_refunded"])  # a card opened while it was counted
    return {
        "cards_total": total,
        "cards_refunded": progress["cards_refunded"],
        "amount_refunded": progress["amount_refunded"],
        "finished": progress["finished"],
    }
