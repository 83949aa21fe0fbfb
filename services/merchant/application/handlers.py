"""The merchant service's use cases: plain functions over the store, the vault and the policy.

Each command appends its events and updates the read models it owns (the merchant card for
GET, the directory) in one unit of work, so a read never sees a half-applied command.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime

from eventstore import ConcurrencyError, EventStore
from eventstore.codec import EventCodec
from policy import Policy
from privacy import Forgotten, Vault, mask_phone
from services.domain_errors import BusinessRuleViolation, Conflict, InvalidInput, NotFound
from services.merchant.application import directory as ordered
from services.merchant.domain import model
from services.merchant.domain.events import MERCHANT_EVENTS, ProductCreated
from services.paging import keyset_page

CODEC = EventCodec(MERCHANT_EVENTS)
PHONE = "contact_phone"
DIRECTORY = "directory"
PRODUCTS = "products"
PROMOTIONS, PRODUCT_PROMOTIONS = "promotions", "product_promotions"


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
            "flags": sorted(merchant.flags), "licence_issued_on": merchant.licence_issued_on,
            "version": merchant.version}


def uscc_stream(uscc: str) -> str:
    return f"uscc-{uscc.upper()}"


def _uscc_claims(store: EventStore, uscc: str) -> tuple[str | None, int]:
    """Who holds the code now, and the version of its stream to append at."""
    records = store.read_stream(uscc_stream(uscc))
    return model.uscc_holder(CODEC.decode(r) for r in records), len(records)


def _save(store: EventStore, merchant: model.Merchant, events: list, expected: int,
          metadata: dict) -> model.Merchant:
    release = None
    if merchant.status not in model.FINAL and merchant.uscc and any(
            isinstance(e, model.MerchantStatusChanged) and e.status in model.FINAL
            for e in events):
        # Released in the same transaction as the status change, at the version read: the
        # code is free exactly when the merchant stops being live, and a claim racing it
        # makes this append conflict (the caller retries).
        holder, version = _uscc_claims(store, merchant.uscc)
        if holder == merchant.merchant_id:
            release = version
    with store.unit_of_work() as uow:
        uow.append(merchant_stream(merchant.merchant_id),
                   [CODEC.encode(e, metadata) for e in events], expected)
        for event in events:
            merchant.apply(event)
        if release is not None:
            uow.append(uscc_stream(merchant.uscc), [CODEC.encode(model.UsccReleased(
                merchant.uscc, merchant.merchant_id, merchant.status), metadata)], release)
        card = _card(merchant)
        uow.put_view(DIRECTORY, merchant.merchant_id, card)
        ordered.place(uow, card)
    return merchant


def apply_for_merchant(*, name: str, uscc: str, industry: str, address: str,
                       contact_phone: str, applied_by: str, store: EventStore, vault: Vault,
                       new_id: Callable[[], str] = lambda: f"m-{uuid.uuid4().hex[:16]}",
                       metadata: dict | None = None,
                       licence_issued_on: str | None = None) -> dict:
    merchant_id = new_id()
    event = model.apply_for(merchant_id, name=name, uscc=uscc, industry=industry,
                            address=address, contact_phone_encrypted="", applied_by=applied_by,
                            licence_issued_on=licence_issued_on)
    # Validated first, so a refused application leaves no key behind.
    holder, version = _uscc_claims(store, event.uscc)
    claim = model.claim_uscc(event.uscc, merchant_id, holder)
    event = type(event)(**{**event.__dict__, "contact_phone_encrypted":
                           vault.encrypt(merchant_id, PHONE, contact_phone)})
    merchant, metadata = model.Merchant(merchant_id), metadata or {}
    try:
        with store.unit_of_work() as uow:
            # The claim is appended at the version read: of two applications racing for one
            # code, the second's append conflicts and its whole transaction rolls back.
            uow.append(uscc_stream(event.uscc), [CODEC.encode(claim, metadata)], version)
            uow.append(merchant_stream(merchant_id), [CODEC.encode(event, metadata)], 0)
            merchant.apply(event)
            card = _card(merchant)
            uow.put_view(DIRECTORY, merchant_id, card)
            ordered.place(uow, card)
    except ConcurrencyError as exc:
        vault.forget(merchant_id)  # the refused applicant's phone key goes with it
        raise Conflict("a live merchant is already registered with this unified social credit "
                       "code", "uscc_taken", {"uscc": event.uscc}) from exc
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


def declare_default(merchant_id: str, reason: str, regulator: str, *, store: EventStore,
                    now: datetime, metadata: dict | None = None) -> dict:
    """One regulator's step of a default (see model.declare_default). Returns the state:
    `default_proposed` with the proposal, or `defaulted` once confirmed (the caller then runs
    the escrow's bulk refund, which is resumable, so a retry of a defaulted merchant runs it
    again)."""
    merchant = load_merchant(store, merchant_id)
    events = model.declare_default(merchant, reason, regulator, now, note=reason)
    if events:
        try:
            _save(store, merchant, events, merchant.version, metadata or {})
        except ConcurrencyError as exc:
            raise Conflict("the merchant changed meanwhile; retry", "version_conflict") from exc
    proposal = merchant.default_proposal
    if merchant.status == "defaulted" or proposal is None:
        return {"merchant_id": merchant_id, "status": merchant.status}
    return {"merchant_id": merchant_id, "status": "default_proposed",
            "reason": proposal.reason, "proposed_by": proposal.proposed_by,
            "proposed_at": proposal.proposed_at}


def set_flag(merchant_id: str, flag: str, on: bool, source: str, set_by: str, *,
             store: EventStore, metadata: dict | None = None) -> dict:
    result = _decide(store, merchant_id,
                     lambda m: model.set_flag(m, flag, on, source, set_by), metadata)
    return {**result, "flags": store.get_view(DIRECTORY, merchant_id)["flags"]}


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


def directory(*, industry: str | None, store: EventStore, code: str | None = None,
              after: str = "", limit: int = 100) -> dict:
    """Listed (active or warned) merchants, green first across pages (see `directory.py`);
    `next_after` continues after the page."""
    return ordered.page(store=store, industry=industry, code=code, after=after, limit=limit)


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


def product_for_sale(product_id: str, *, store: EventStore, policy: Policy,
                     now: datetime) -> dict:
    """The product as sold now (with any running promotion's bonus), if its merchant may sell
    cards right now (not warned, delisted or listed)."""
    product = get_product(product_id, store=store)
    reason = load_merchant(store, product["merchant_id"]).why_not_selling(policy, now)
    if reason:
        raise BusinessRuleViolation(f"this merchant may not sell cards: {reason}",
                                    "merchant_may_not_sell")
    # A product created under an older, looser policy is not sold past today's caps.
    breaches = model.product_breaches(ProductCreated(**{
        f.name: product[f.name] for f in fields(ProductCreated)}), policy)
    if breaches:
        raise BusinessRuleViolation("the product breaks the policy", "policy_breach",
                                    {"breaches": breaches, "policy_version": policy.version})
    return model.price_at(product, _promotions_of(store, product_id), now)


def _promotions_of(store: EventStore, product_id: str) -> list[dict]:
    return (store.get_view(PRODUCT_PROMOTIONS, product_id) or {"items": []})["items"]


def create_promotion(merchant_id: str, fields: dict, created_by: str, *, store: EventStore,
                     policy: Policy, now: datetime,
                     new_id: Callable[[], str] = lambda: f"promo-{uuid.uuid4().hex[:16]}",
                     metadata: dict | None = None) -> dict:
    """Recorded on the product's stream, at the version read: two overlapping promotions
    created at once cannot both pass the overlap check."""
    merchant = load_merchant(store, merchant_id)
    product = get_product(fields["product_id"], store=store)
    if product["merchant_id"] != merchant_id:
        raise NotFound(f"no product {fields['product_id']}")
    stream = f"product-{product['product_id']}"
    version = len(store.read_stream(stream))
    existing = _promotions_of(store, product["product_id"])
    event = model.create_promotion(
        merchant, product, existing, policy, promotion_id=new_id(), name=fields["name"],
        bonus=fields["bonus"], starts_at=_instant(fields["starts_at"]),
        ends_at=_instant(fields["ends_at"]), now=now, created_by=created_by)
    view = {k: v for k, v in event.__dict__.items() if k != "created_by"}
    try:
        with store.unit_of_work() as uow:
            uow.append(stream, [CODEC.encode(event, metadata or {})], version)
            uow.put_view(PRODUCT_PROMOTIONS, product["product_id"], {"items": existing + [view]})
            uow.put_view(PROMOTIONS, f"{merchant_id}/{event.starts_at}|{event.promotion_id}",
                         view)
    except ConcurrencyError as exc:
        raise Conflict("the product changed meanwhile; retry", "version_conflict") from exc
    return view


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(f"{text!r} is not an RFC 3339 time with a UTC offset",
                           "invalid_time")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset: no such instant in UTC
        raise InvalidInput(f"{text!r} is out of range", "invalid_time") from None


def promotions(merchant_id: str, *, store: EventStore, now: datetime,
               include_ended: bool = False, after: str = "", limit: int = 100) -> dict:
    """The merchant's promotions by start time, a page at a time; ended ones only when
    asked for."""
    load_merchant(store, merchant_id)
    found = keyset_page(store.list_views, PROMOTIONS, f"{merchant_id}/", after, limit,
                        lambda key, v: include_ended or
                        datetime.fromisoformat(v["ends_at"]) > now)
    return {"items": [v for _, v in found["rows"]], "next_after": found["next_after"]}


def get_product(product_id: str, *, store: EventStore) -> dict:
    product = store.get_view(PRODUCTS, product_id)
    if product is None:
        raise NotFound(f"no product {product_id}")
    return product
