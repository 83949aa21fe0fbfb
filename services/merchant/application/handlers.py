"""The merchant service's use cases: plain functions over the store, the vault and the policy.

Each command appends its events and updates the read models it owns (the merchant card for
GET, the directory) in one unit of work, so a read never sees a half-applied command.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable

from eventstore import ConcurrencyError, EventStore
from eventstore.codec import EventCodec
from policy import Policy
from privacy import Forgotten, Vault, mask_phone
from services.domain_errors import BusinessRuleViolation, Conflict, NotFound
from services.merchant.domain import model
from services.merchant.domain.events import MERCHANT_EVENTS

CODEC = EventCodec(MERCHANT_EVENTS)
PHONE = "contact_phone"
DIRECTORY = "directory"
PRODUCTS = "products"


def merchant_stream(merchant_id: str) -> str:
    return f"merchant-{merchant_id}"


def load_merchant(store: EventStore, merchant_id: str) -> model.Merchant:
    records = store.read_stream(merchant_stream(merchant_id))
    merchant = model.Merchant.from_events(merchant_id, (CODEC.decode(r) for r in records))
    if not merchant.exists:
        raise NotFound(f"no merchant {merchant_id}")
    return merchant


def _card(merchant: model.Merchant) -> dict:
    return {"merchant_id": merchant.merchant_id, "name": merchant.name, "uscc": merchant.uscc,
            "industry": merchant.industry, "address": merchant.address,
            "status": merchant.status, "status_reason": merchant.status_reason,
            "flags": sorted(merchant.flags), "version": merchant.version}


def _save(store: EventStore, merchant: model.Merchant, events: list, expected: int,
          metadata: dict) -> model.Merchant:
    with store.unit_of_work() as uow:
        uow.append(merchant_stream(merchant.merchant_id),
                   [CODEC.encode(e, metadata) for e in events], expected)
        for event in events:
            merchant.apply(event)
        uow.put_view(DIRECTORY, merchant.merchant_id, _card(merchant))
    return merchant


def apply_for_merchant(*, name: str, uscc: str, industry: str, address: str,
                       contact_phone: str, applied_by: str, store: EventStore, vault: Vault,
                       new_id: Callable[[], str] = lambda: f"m-{uuid.uuid4().hex[:16]}",
                       metadata: dict | None = None) -> dict:
    merchant_id = new_id()
    event = model.apply_for(merchant_id, name=name, uscc=uscc, industry=industry,
                            address=address, contact_phone_encrypted="", applied_by=applied_by)
    # Validated first, so a refused application leaves no key behind.
    event = type(event)(**{**event.__dict__, "contact_phone_encrypted":
                           vault.encrypt(merchant_id, PHONE, contact_phone)})
    merchant = _save(store, model.Merchant(merchant_id), [event], 0, metadata or {})
    return {"merchant_id": merchant.merchant_id, "status": merchant.status}


def _decide(store: EventStore, merchant_id: str, decide, metadata: dict | None) -> dict:
    merchant = load_merchant(store, merchant_id)
    event = decide(merchant)
    if event is not None:
        try:
            _save(store, merchant, [event], merchant.version, metadata or {})
        except ConcurrencyError as exc:
            raise Conflict("the merchant changed meanwhile; retry", "version_conflict") from exc
    return {"merchant_id": merchant_id, "status": merchant.status}


def approve_merchant(merchant_id: str, approved_by: str, *, store: EventStore,
                     metadata: dict | None = None) -> dict:
    return _decide(store, merchant_id, lambda m: model.approve(m, approved_by), metadata)


def change_status(merchant_id: str, status: str, reason: str, changed_by: str, *,
                  store: EventStore, metadata: dict | None = None) -> dict:
    return _decide(store, merchant_id,
                   lambda m: model.change_status(m, status, reason, changed_by), metadata)


def get_merchant(merchant_id: str, *, viewer_is_owner: bool, store: EventStore,
                 vault: Vault) -> dict:
    card = store.get_view(DIRECTORY, merchant_id)
    if card is None:
        raise NotFound(f"no merchant {merchant_id}")
    merchant = load_merchant(store, merchant_id)
    try:
        phone = vault.decrypt(merchant_id, PHONE, merchant.contact_phone_encrypted)
        card["contact_phone"] = phone if viewer_is_owner else mask_phone(phone)
    except Forgotten:
        card["contact_phone"] = None  # erased on request: nothing left to show
    return card


def directory(*, industry: str | None, store: EventStore, after: str = "",
              limit: int = 100) -> dict:
    """Listed (active or warned) merchants, by id; `next_cursor` continues after the page."""
    items, cursor = [], after
    while True:
        page = store.list_views(DIRECTORY, cursor, 500)
        for key, card in page:
            cursor = key
            if card["status"] in ("active", "warned") and industry in (None, card["industry"]):
                items.append(card)
                if len(items) == limit:
                    return {"items": items, "next_cursor": key}
        if len(page) < 500:
            return {"items": items, "next_cursor": None}


def create_product(merchant_id: str, fields: dict, *, store: EventStore, policy: Policy,
                   new_id: Callable[[], str] = lambda: f"p-{uuid.uuid4().hex[:16]}",
                   metadata: dict | None = None) -> dict:
    merchant = load_merchant(store, merchant_id)
    product = model.create_product(merchant, policy, product_id=new_id(), **fields)
    view = {k: v for k, v in product.__dict__.items()}
    with store.unit_of_work() as uow:
        uow.append(f"product-{product.product_id}", [CODEC.encode(product, metadata or {})], 0)
        uow.put_view(PRODUCTS, product.product_id, view)
    return view


def product_for_sale(product_id: str, *, store: EventStore, policy: Policy) -> dict:
    """The product, if its merchant may sell cards right now (not warned, delisted, listed)."""
    product = get_product(product_id, store=store)
    reason = load_merchant(store, product["merchant_id"]).why_not_selling(policy)
    if reason:
        raise BusinessRuleViolation(f"this merchant may not sell cards: {reason}",
                                    "merchant_may_not_sell")
    return product


def get_product(product_id: str, *, store: EventStore) -> dict:
    product = store.get_view(PRODUCTS, product_id)
    if product is None:
        raise NotFound(f"no product {product_id}")
    return product
