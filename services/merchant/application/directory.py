"""The public directory, ordered by health code across pages: green, yellow, red, then
merchants not assessed yet, and by merchant id within a code.

The order is a view keyed "<industry or *>/<rank>/<merchant id>", so a page is a keyset
scan and a cursor is the last key: a code change between two pages moves a merchant, and
never shifts the pages around it. The key of a merchant changes when its card changes (a
status out of the listed ones removes it) or when the risk service publishes a new code,
which the merchant service keeps with the card (`record_health`); each writes through the
caller's unit of work, so the order never disagrees with the card it shows.
"""

from __future__ import annotations

import unicodedata

from eventstore import EventStore
from services.domain_errors import InvalidInput
from services.merchant.domain.model import MAX_NAME_QUERY
from services.paging import keyset_page

ORDER, HEALTH, PLACES = "directory_order", "directory_health", "directory_places"
CARDS = "directory"
"""The merchant cards (projections.DIRECTORY), one per merchant, listed or not."""
LISTED = ("active", "warned")
RANKS = {"green": "0", "yellow": "1", "red": "2"}
UNASSESSED = "3"
ALL = "*"


def _keys(card: dict, health: dict | None) -> list[str]:
    if card["status"] not in LISTED:
        return []
    rank = RANKS.get(health["code"], UNASSESSED) if health else UNASSESSED
    return [f"{scope}/{rank}/{card['merchant_id']}" for scope in (ALL, card["industry"])]


def place(uow, card: dict) -> None:
    """Puts the merchant where its card and its code say, and removes it from where it was."""
    merchant_id = card["merchant_id"]
    health = uow.get_view(HEALTH, merchant_id)
    keys = _keys(card, health)
    before = (uow.get_view(PLACES, merchant_id) or {"keys": []})["keys"]
    for key in set(before) - set(keys):
        uow.delete_view(ORDER, key)
    entry = {**card, "health": health}
    for key in keys:
        uow.put_view(ORDER, key, entry)
    uow.put_view(PLACES, merchant_id, {"keys": keys})


def record_health(uow, data: dict) -> None:
    """A published `risk.HealthCodeChanged.v1`: the newest code wins, whatever order the
    events arrive in."""
    merchant_id = data["merchant_id"]
    known = uow.get_view(HEALTH, merchant_id)
    if known is not None and known["since"] > data["evaluated_at"]:
        return
    uow.put_view(
        HEALTH,
        merchant_id,
        {"code": data["code"], "since": data["evaluated_at"], "reasons": list(data["reasons"])},
    )
    card = uow.get_view(CARDS, merchant_id)
    if card is not None:
        place(uow, card)


def folded(text: str) -> str:
    """Text as names are compared: NFKC (full-width Latin letters become ASCII ones), then
    case-folded, so Latin matches whatever its case and Chinese matches as written."""
    return unicodedata.normalize("NFKC", text).casefold()


def name_matcher(name: str | None):
    """A filter for the merchants whose name holds `name`; None for no filter."""
    if name is None or not name.strip():
        return None
    if len(name) > MAX_NAME_QUERY:
        raise InvalidInput(
            f"a name to search for has at most {MAX_NAME_QUERY} characters", "query_too_long"
        )
    needle = folded(name.strip())
    return lambda key, doc: needle in folded(doc["name"])


def page(
    *,
    store: EventStore,
    industry: str | None,
    code: str | None,
    after: str,
    limit: int,
    name: str | None = None,
) -> dict:
    """A page of listed merchants in directory order, each card with its `health` ({code,
    since, reasons}, or None before the first assessment); with `name`, only those whose
    name holds it. The search scans the ordered list, so it keeps the order and the cursor
    of the unfiltered list."""
    prefix = f"{industry or ALL}/" + (f"{RANKS[code]}/" if code else "")
    matches = name_matcher(name)
    found = (
        keyset_page(store.list_views, ORDER, prefix, after, limit)
        if matches is None
        else keyset_page(store.list_views, ORDER, prefix, after, limit, matches)
    )
    return {"items": [doc for _, doc in found["rows"]], "next_after": found["next_after"]}


def backfill(store: EventStore, batch: int = 500) -> int:
    """Places every merchant the order does not hold yet (a store from before the order
    existed); their codes come with the risk service's next change of each."""
    placed, cursor = 0, ""
    while rows := store.list_views(CARDS, cursor, batch):
        cursor = rows[-1][0]
        missing = [card for key, card in rows if store.get_view(PLACES, key) is None]
        if missing:
            with store.unit_of_work() as uow:
                for card in missing:
                    place(uow, card)
            placed += len(missing)
        if len(rows) < batch:
            break
    return placed
