"""Brings the escrow's persisted views to their current shape when the service starts.

* Renamed views move to their current collection names; with nothing under an old name, it
  reads one empty page.
* Views added after cards existed (`backfill_card_views`): the card-code index, the full
  redemption requests and their per-consumer and per-merchant lists, and the merchants'
  figures by day are rebuilt once from the card streams, and a marker row says so.
* The movements the bank should show (`backfill_bank_movements`), added after money moved:
  rebuilt once from every event of the store, and a marker row says so.
Each step is idempotent, so a start interrupted half-way does it again from the start.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from eventstore import EventStore
from services.escrow.application import daily_stats, reconciliation
from services.escrow.application.projections import (
    CARD_CODES,
    CARD_OF_COMPLAINT,
    CARDS,
    DISPUTES_BY_CARD,
    MERCHANT_STATS,
    PLATFORM_KEY,
    PLATFORM_TOTALS,
    REDEMPTIONS,
    put_redemption,
)
from services.escrow.application.store import CODEC, card_stream
from services.escrow.domain import stats
from services.escrow.domain.card import Card

OLD_DISPUTES_BY_CARD = "disputed_cards"
OLD_CARD_OF_COMPLAINT = "dispute_cards"
PAGE = 500


def _keep_newer(newer: dict | None, older: dict) -> dict:
    """A row already under the new name was written by the current code: it wins."""
    return newer if newer is not None else older


def _all_complaints(newer: dict | None, older: dict) -> dict:
    """A card's open complaints, wherever they were recorded."""
    return {
        "complaints": sorted({*(newer or {"complaints": []})["complaints"], *older["complaints"]})
    }


RENAMES: list[tuple[str, str, Callable[[dict | None, dict], dict]]] = [
    (OLD_DISPUTES_BY_CARD, DISPUTES_BY_CARD, _all_complaints),
    (OLD_CARD_OF_COMPLAINT, CARD_OF_COMPLAINT, _keep_newer),
]
"""(old collection, new collection, how a row meets one already moved) per renamed view."""


def rename_views(store: EventStore, page: int = PAGE) -> int:
    """Moves every row of each renamed collection to its new name, a page per unit of work
    (put under the new name, deleted under the old); returns how many rows moved."""
    moved = 0
    for old, new, merge in RENAMES:
        while rows := store.list_views(old, "", page):
            with store.unit_of_work() as uow:
                for key, _ in rows:
                    # Read again inside the write: another replica starting may have moved it.
                    older = uow.get_view(old, key)
                    if older is None:
                        continue
                    uow.put_view(new, key, merge(uow.get_view(new, key), older))
                    uow.delete_view(old, key)
                    moved += 1
    return moved


MIGRATIONS = "migrations"
"""Marker rows of the one-off migrations done, keyed by name."""
CARD_VIEWS_V2 = "card-codes-redemptions-daily-stats"


def backfill_card_views(store: EventStore, page: int = PAGE) -> int:
    """Once: writes the views added with card codes, redemption lists and daily figures for
    every card that existed before them; returns how many cards it read (0 when done before).

    A card bought before codes were issued keeps the code derived from its id (it has no
    `CardCodeIssued`; the card view shows the same), and is indexed under it unless another
    card of the merchant has that code already. A request already in its full view was
    written by the current code and is left as it is. The daily rows are recomputed whole
    from every card's events and replace whatever rows there are, so a second run after an
    interruption writes the same. Run before the service serves: a command committed by
    another replica meanwhile would be counted in the rows it replaces."""
    if store.get_view(MIGRATIONS, CARD_VIEWS_V2) is not None:
        return 0
    by_merchant_day: dict[tuple[str, str], dict[str, int]] = {}
    read, after = 0, ""
    while rows := store.list_views(CARDS, after, page):
        after = rows[-1][0]
        with store.unit_of_work() as uow:
            for card_id, _ in rows:
                card, by_day = _replayed(store, card_id)
                read += 1
                merchant_id = card.purchase.merchant_id
                for day, change in by_day.items():
                    total = by_merchant_day.setdefault((merchant_id, day), dict.fromkeys(change, 0))
                    for name, moved in change.items():
                        total[name] += moved
                code_key = f"{merchant_id}/{card.card_code}"
                if not card.issued_code and uow.get_view(CARD_CODES, code_key) is None:
                    uow.put_view(CARD_CODES, code_key, {"card_id": card_id})
                for hold in card.holds.values():
                    found = uow.get_view(REDEMPTIONS, hold.redemption_id)
                    if found is None or "status" not in found:
                        put_redemption(uow, card, hold)
    with store.unit_of_work() as uow:
        for (merchant_id, day), change in by_merchant_day.items():
            uow.put_view(daily_stats.DAILY, f"{merchant_id}/{day}", {"day": day, **change})
        uow.put_view(MIGRATIONS, CARD_VIEWS_V2, {"done_at": datetime.now(UTC).isoformat()})
    return read


def _replayed(store: EventStore, card_id: str) -> tuple[Card, dict[str, dict[str, int]]]:
    """The card from its stream, and what its events changed in its merchant's figures by
    day, exactly as the projection adds them."""
    card = Card(card_id)
    by_day: dict[str, dict[str, int]] = {}
    for record in store.read_stream(card_stream(card_id)):
        event = CODEC.decode(record)
        before = stats.contribution(card)
        card.apply(event)
        daily_stats.add(by_day, event, before, stats.contribution(card))
    return card, by_day


BANK_MOVEMENTS_V1 = "bank-movements"
PLATFORM_TOTALS_V1 = "platform-totals"


def backfill_bank_movements(store: EventStore, page: int = PAGE) -> int:
    """Once: writes the reconciliation's view of the movements the bank should show from
    every event of the store (the one scan, at start-up); returns how many movements it
    wrote (0 when done before). Each row is computed whole and replaces what is there, so a
    second run after an interruption writes the same."""
    if store.get_view(MIGRATIONS, BANK_MOVEMENTS_V1) is not None:
        return 0
    payments: dict[str, str] = {}
    counts: dict[str, dict] = {}
    for record in store.iter_all():
        data = record.data
        if record.type == "escrow.CardPurchased.v1":
            payments[data["card_id"]] = data["payment_id"]
        if record.type not in reconciliation.MOVING_EVENTS:
            continue
        payment_id = payments.get(data.get("card_id") or "")
        moved = reconciliation.movements_of(record.type, data, payment_id)
        for day, kind, reference, amount in moved:
            key = reconciliation.movement_key(day, kind, reference, amount)
            row = counts.setdefault(
                key, {"kind": kind, "reference": reference, "amount": amount, "count": 0}
            )
            row["count"] += 1
    rows = sorted(counts.items())
    for start in range(0, len(rows), page):
        with store.unit_of_work() as uow:
            for key, row in rows[start : start + page]:
                uow.put_view(reconciliation.MOVEMENTS, key, row)
    with store.unit_of_work() as uow:
        uow.put_view(MIGRATIONS, BANK_MOVEMENTS_V1, {"done_at": datetime.now(UTC).isoformat()})
    return len(rows)


def backfill_platform_totals(store: EventStore, page: int = PAGE) -> bool:
    """Once: the platform's totals (`PLATFORM_TOTALS`), added after merchants had figures,
    summed from every merchant's row; True when it wrote them.

    One unit of work holding the store's write lock from before the marker is checked until
    the row is written: a command (which moves a merchant's row and the platform's together,
    under the same lock) commits before the sum is read, and is in it, or waits and adds to
    the filled row, so none is lost or counted twice, even with the service serving."""
    if store.get_view(MIGRATIONS, PLATFORM_TOTALS_V1) is not None:
        return False
    with store.unit_of_work() as uow:
        uow.lock_writes()
        if uow.get_view(MIGRATIONS, PLATFORM_TOTALS_V1) is not None:
            return False  # another process filled it while this one waited
        totals = stats.empty("")
        after = ""
        # Read from the store: every commit before the lock is there, none after it yet.
        while rows := store.list_views(MERCHANT_STATS, after, page):
            after = rows[-1][0]
            for _, figures in rows:
                for name in stats.FIGURES:
                    totals[name] += figures.get(name, 0)
        uow.put_view(PLATFORM_TOTALS, PLATFORM_KEY, totals)
        uow.put_view(MIGRATIONS, PLATFORM_TOTALS_V1, {"done_at": datetime.now(UTC).isoformat()})
    return True


def migrate(store: EventStore) -> None:
    """Every migration the escrow's views need; run at each start."""
    rename_views(store)
    backfill_card_views(store)
    backfill_bank_movements(store)
    backfill_platform_totals(store)
