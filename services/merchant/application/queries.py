"""The merchant service's reads: its views, and the merchant as loaded where a rule needs it."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

from eventstore import EventStore
from policy import Policy
from privacy import Forgotten, Vault, mask_phone
from services.domain_errors import BusinessRuleViolation, InvalidInput, NotFound
from services.merchant.application import directory as ordered
from services.merchant.application.projections import (
    DIRECTORY,
    PRODUCTS,
    PRODUCTS_BY_MERCHANT,
    PROMOTIONS,
    promotions_of,
)
from services.merchant.application.store import PHONE, load_merchant
from services.merchant.domain import products
from services.merchant.domain.events import ProductCreated
from services.paging import keyset_page


def get_merchant(
    merchant_id: str, *, viewer_is_owner: bool, store: EventStore, vault: Vault
) -> dict:
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


def directory(
    *,
    industry: str | None,
    store: EventStore,
    code: str | None = None,
    after: str = "",
    limit: int = 100,
    name: str | None = None,
) -> dict:
    """Listed (active or warned) merchants, green first across pages (see `directory.py`),
    those whose name holds `name` when given; `next_after` continues after the page."""
    return ordered.page(
        store=store, industry=industry, code=code, after=after, limit=limit, name=name
    )


MAX_NAMES = 500
"""Names asked for at once: a page of the contract's largest lists."""


def names(merchant_ids: list[str], *, store: EventStore) -> dict[str, str]:
    """The public names of the merchants that exist among `merchant_ids`, one read each."""
    return {m: p["name"] for m, p in profiles(merchant_ids, store=store).items()}


def profiles(merchant_ids: list[str], *, store: EventStore) -> dict[str, dict]:
    """{name, industry} of the merchants that exist among `merchant_ids`, one read each."""
    if len(merchant_ids) > MAX_NAMES:
        raise InvalidInput(f"at most {MAX_NAMES} merchants at a time")
    found = {}
    for merchant_id in dict.fromkeys(merchant_ids):
        card = store.get_view(DIRECTORY, merchant_id)
        if card is not None:
            found[merchant_id] = {"name": card["name"], "industry": card["industry"]}
    return found


def get_product(product_id: str, *, store: EventStore) -> dict:
    product = store.get_view(PRODUCTS, product_id)
    if product is None:
        raise NotFound(f"no product {product_id}")
    return product


def product_for_sale(product_id: str, *, store: EventStore, policy: Policy, now: datetime) -> dict:
    """The product as sold now (with any running promotion's bonus), if its merchant may sell
    cards right now (not warned, delisted or listed)."""
    product = get_product(product_id, store=store)
    products.check_on_sale(product)
    reason = load_merchant(store, product["merchant_id"]).why_not_selling(policy, now)
    if reason:
        raise BusinessRuleViolation(
            f"this merchant may not sell cards: {reason}", "merchant_may_not_sell"
        )
    # A product created under an older, looser policy is not sold past today's caps.
    breaches = products.product_breaches(
        ProductCreated(**{f.name: product[f.name] for f in fields(ProductCreated)}), policy
    )
    if breaches:
        raise BusinessRuleViolation(
            "the product breaks the policy",
            "policy_breach",
            {"breaches": breaches, "policy_version": policy.version},
        )
    return products.price_at(product, promotions_of(store, product_id), now)


def promotions(
    merchant_id: str,
    *,
    store: EventStore,
    now: datetime,
    include_ended: bool = False,
    after: str = "",
    limit: int = 100,
) -> dict:
    """The merchant's promotions by start time, a page at a time; ended ones only when
    asked for."""
    load_merchant(store, merchant_id)
    found = keyset_page(
        store.list_views,
        PROMOTIONS,
        f"{merchant_id}/",
        after,
        limit,
        lambda key, v: include_ended or datetime.fromisoformat(v["ends_at"]) > now,
    )
    return {"items": [v for _, v in found["rows"]], "next_after": found["next_after"]}


def products_on_sale(
    merchant_id: str,
    *,
    store: EventStore,
    now: datetime,
    include_retired: bool = False,
    after: str = "",
    limit: int = 100,
) -> dict:
    """The merchant's products, retired ones only when asked for, a page at a time; each as
    a card bought now would get it (`bonus` the running promotion's, `promotion` naming it,
    `regular_bonus` the product's own)."""
    load_merchant(store, merchant_id)
    found = keyset_page(
        store.list_views,
        PRODUCTS_BY_MERCHANT,
        f"{merchant_id}/",
        after,
        limit,
        lambda key, ref: include_retired or not ref["retired"],
    )
    items = []
    for _, ref in found["rows"]:
        product = get_product(ref["product_id"], store=store)
        promotion = products.running_promotion(promotions_of(store, ref["product_id"]), now)
        items.append(
            {
                **product,
                "retired_at": product.get("retired_at"),
                "regular_bonus": product["bonus"],
                "bonus": promotion["bonus"] if promotion else product["bonus"],
                "promotion": promotion,
            }
        )
    return {"items": items, "next_after": found["next_after"]}
