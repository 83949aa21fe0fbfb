"""Moves the escrow's persisted views to their current collection names when the service
starts. Each step is idempotent: with nothing under an old name, it reads one empty page."""

from __future__ import annotations

from collections.abc import Callable

from eventstore import EventStore
from services.escrow.application.projections import CARD_OF_COMPLAINT, DISPUTES_BY_CARD

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


def migrate(store: EventStore) -> None:
    """Every migration the escrow's views need; run at each start."""
    rename_views(store)
