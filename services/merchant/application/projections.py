"""The merchant service's views, kept in the unit of work that appends the events they show,
so a read never sees a half-applied command.

    directory           merchant id -> its card (GET /merchants/{id}); directory.py keeps
                        the order the public directory is listed in
    products            product id -> the product (with retired_at once retired)
    products_by_merchant
                        "<merchant id>/<place>" -> {product_id, retired}: a merchant's
                        products, oldest first, for its list
    product_places      product id -> {place}: "<creation number>|<product id>", the
                        product's key in its merchant's list
    product_counts      merchant id -> {created}: how many products it has created, the
                        next one's creation number
    product_promotions  product id -> {"items": its promotions}
    promotions          "<merchant id>/<starts_at>|<promotion id>" -> the promotion
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from eventstore import EventStore, UnitOfWork
from eventstore.codec import event_fields
from services.merchant.application import directory
from services.merchant.domain import model
from services.merchant.domain.events import ProductCreated, ProductRetired, PromotionCreated

DIRECTORY = directory.CARDS
PRODUCTS, PRODUCTS_BY_MERCHANT = "products", "products_by_merchant"
PRODUCT_PLACES, PRODUCT_COUNTS = "product_places", "product_counts"
PROMOTIONS, PRODUCT_PROMOTIONS = "promotions", "product_promotions"


class ViewReader(Protocol):
    """A store or a unit of work: both read views."""

    def get_view(self, collection: str, key: str) -> dict | None: ...


def project(uow: UnitOfWork, merchant: model.Merchant, events: Sequence[object]) -> None:
    """Applies the merchant's own events to it and keeps its card and directory place; a
    product or promotion it created goes to the product's views (it lives in its own
    stream, so the merchant's version does not move)."""
    applied = False
    for event in events:
        if isinstance(event, ProductCreated):
            product = product_view(event)
            uow.put_view(PRODUCTS, event.product_id, product)
            index_product(uow, product)
        elif isinstance(event, ProductRetired):
            product = {
                **(uow.get_view(PRODUCTS, event.product_id) or {}),
                "retired_at": event.retired_at,
            }
            uow.put_view(PRODUCTS, event.product_id, product)
            index_product(uow, product)
        elif isinstance(event, PromotionCreated):
            _promotion(uow, event)
        else:
            merchant.apply(event)
            applied = True
    if applied:
        card = merchant_card(merchant)
        uow.put_view(DIRECTORY, merchant.merchant_id, card)
        directory.place(uow, card)


def merchant_card(merchant: model.Merchant) -> dict:
    return {
        "merchant_id": merchant.merchant_id,
        "name": merchant.name,
        "uscc": merchant.uscc,
        "industry": merchant.industry,
        "address": merchant.address,
        "status": merchant.status,
        "status_reason": merchant.status_reason,
        "flags": sorted(merchant.flags),
        "licence_issued_on": merchant.licence_issued_on,
        "version": merchant.version,
    }


def product_view(event: ProductCreated) -> dict:
    return event_fields(event)


def promotion_view(event: PromotionCreated) -> dict:
    return {k: v for k, v in event_fields(event).items() if k != "created_by"}


def promotions_of(reader: ViewReader, product_id: str) -> list[dict]:
    """The product's promotions, oldest start first as created."""
    return (reader.get_view(PRODUCT_PROMOTIONS, product_id) or {"items": []})["items"]


def _promotion(uow: UnitOfWork, event: PromotionCreated) -> None:
    view = promotion_view(event)
    uow.put_view(
        PRODUCT_PROMOTIONS,
        event.product_id,
        {"items": promotions_of(uow, event.product_id) + [view]},
    )
    uow.put_view(PROMOTIONS, f"{event.merchant_id}/{event.starts_at}|{event.promotion_id}", view)


def index_product(uow: UnitOfWork, product: dict) -> None:
    """The product's place in its merchant's list, with whether it is retired. A new product
    takes the merchant's next creation number, so the list is in creation order, oldest
    first, and a cursor (a place) stays valid as products are added or retired."""
    merchant_id, product_id = product["merchant_id"], product["product_id"]
    known = uow.get_view(PRODUCT_PLACES, product_id)
    if known is None:
        created = (uow.get_view(PRODUCT_COUNTS, merchant_id) or {"created": 0})["created"] + 1
        uow.put_view(PRODUCT_COUNTS, merchant_id, {"created": created})
        known = {"place": f"{created:010d}|{product_id}"}
        uow.put_view(PRODUCT_PLACES, product_id, known)
    uow.put_view(
        PRODUCTS_BY_MERCHANT,
        f"{merchant_id}/{known['place']}",
        {"product_id": product_id, "retired": bool(product.get("retired_at"))},
    )


def backfill_product_index(
    store: EventStore, stream_of: Callable[[str], str], batch: int = 500
) -> int:
    """Lists every product its merchant's list does not hold yet (a store from before the
    lists existed), in the order the products were created: the position of the first event
    of each one's stream, which `stream_of(product id)` names (store.product_stream; the
    store module imports this one)."""
    missing, cursor = [], ""
    while rows := store.list_views(PRODUCTS, cursor, batch):
        cursor = rows[-1][0]
        for product_id, product in rows:
            if store.get_view(PRODUCT_PLACES, product_id) is None:
                created = store.read_stream(stream_of(product_id))[0].position
                missing.append((created, product))
        if len(rows) < batch:
            break
    missing.sort(key=lambda found: found[0])
    for start in range(0, len(missing), batch):
        with store.unit_of_work() as uow:
            for _, product in missing[start : start + batch]:
                # The key of the lists' first form, by product id, if this store has it.
                uow.delete_view(
                    PRODUCTS_BY_MERCHANT, f"{product['merchant_id']}/{product['product_id']}"
                )
                index_product(uow, product)
    return len(missing)
