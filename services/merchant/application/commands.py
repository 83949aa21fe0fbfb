"""The merchant service's use cases that change state: plain functions over the store, the
vault and the policy. Each decides on the merchant as loaded and commits through store.py, so
its events and the views they change land in one unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from eventstore import ConcurrencyError, EventStore
from policy import Policy
from privacy import Vault
from services.domain_errors import Conflict, InvalidInput, NotFound
from services.merchant.application import projections
from services.merchant.application.queries import get_product
from services.merchant.application.store import (
    CODEC,
    PHONE,
    PRODUCT_NO_RETRY,
    UsccClaim,
    commit,
    decide,
    events_of,
    load_merchant,
    product_stream,
    uscc_claims,
)
from services.merchant.domain import model, products


def apply_for_merchant(
    *,
    name: str,
    uscc: str,
    industry: str,
    address: str,
    contact_phone: str,
    applied_by: str,
    store: EventStore,
    vault: Vault,
    new_id: Callable[[], str] = lambda: f"m-{uuid.uuid4().hex[:16]}",
    metadata: dict | None = None,
    licence_issued_on: str | None = None,
) -> dict:
    merchant_id = new_id()
    event = model.apply_for(
        merchant_id,
        name=name,
        uscc=uscc,
        industry=industry,
        address=address,
        contact_phone_encrypted="",
        applied_by=applied_by,
        licence_issued_on=licence_issued_on,
    )
    # Validated first, so a refused application leaves no key behind.
    holder, version = uscc_claims(store, event.uscc)
    claim = UsccClaim(model.claim_uscc(event.uscc, merchant_id, holder), version)
    event = replace(event, contact_phone_encrypted=vault.encrypt(merchant_id, PHONE, contact_phone))
    try:
        merchant = commit(store, model.Merchant(merchant_id), [event], metadata, claim=claim)
    except ConcurrencyError as exc:
        vault.forget(merchant_id)  # the refused applicant's phone key goes with it
        raise Conflict(
            "a live merchant is already registered with this unified social credit code",
            "uscc_taken",
            {"uscc": event.uscc},
        ) from exc
    return {"merchant_id": merchant.merchant_id, "status": merchant.status}


def approve_merchant(
    merchant_id: str, approved_by: str, *, store: EventStore, metadata: dict | None = None
) -> dict:
    done = decide(store, merchant_id, lambda m: events_of(model.approve(m, approved_by)), metadata)
    return {"merchant_id": merchant_id, "status": done.aggregate.status}


def change_status(
    merchant_id: str,
    status: str,
    reason: str,
    changed_by: str,
    *,
    store: EventStore,
    metadata: dict | None = None,
) -> dict:
    done = decide(
        store,
        merchant_id,
        lambda m: events_of(model.change_status(m, status, reason, changed_by)),
        metadata,
    )
    return {"merchant_id": merchant_id, "status": done.aggregate.status}


def set_flag(
    merchant_id: str,
    flag: str,
    on: bool,
    source: str,
    set_by: str,
    *,
    store: EventStore,
    metadata: dict | None = None,
) -> dict:
    done = decide(
        store,
        merchant_id,
        lambda m: events_of(model.set_flag(m, flag, on, source, set_by)),
        metadata,
    )
    merchant = done.aggregate
    return {"merchant_id": merchant_id, "status": merchant.status, "flags": sorted(merchant.flags)}


def create_product(
    merchant_id: str,
    fields: dict,
    *,
    store: EventStore,
    policy: Policy,
    new_id: Callable[[], str] = lambda: f"p-{uuid.uuid4().hex[:16]}",
    metadata: dict | None = None,
) -> dict:
    merchant = load_merchant(store, merchant_id)
    product = products.create_product(merchant, policy, product_id=new_id(), **fields)
    with store.unit_of_work() as uow:
        uow.append(product_stream(product.product_id), [CODEC.encode(product, metadata or {})], 0)
        projections.project(uow, merchant, [product])
    return projections.product_view(product)


def create_promotion(
    merchant_id: str,
    fields: dict,
    created_by: str,
    *,
    store: EventStore,
    policy: Policy,
    now: datetime,
    new_id: Callable[[], str] = lambda: f"promo-{uuid.uuid4().hex[:16]}",
    metadata: dict | None = None,
) -> dict:
    """Recorded on the product's stream, at the version read: two overlapping promotions
    created at once cannot both pass the overlap check."""
    merchant = load_merchant(store, merchant_id)
    product = get_product(fields["product_id"], store=store)
    if product["merchant_id"] != merchant_id:
        raise NotFound(f"no product {fields['product_id']}")
    stream = product_stream(product["product_id"])
    version = len(store.read_stream(stream))
    event = products.create_promotion(
        merchant,
        product,
        projections.promotions_of(store, product["product_id"]),
        policy,
        promotion_id=new_id(),
        name=fields["name"],
        bonus=fields["bonus"],
        starts_at=_instant(fields["starts_at"]),
        ends_at=_instant(fields["ends_at"]),
        now=now,
        created_by=created_by,
    )
    try:
        with store.unit_of_work() as uow:
            uow.append(stream, [CODEC.encode(event, metadata or {})], version)
            projections.project(uow, merchant, [event])
    except ConcurrencyError as exc:
        raise Conflict(PRODUCT_NO_RETRY.message, PRODUCT_NO_RETRY.code) from exc
    return projections.promotion_view(event)


def retire_product(
    merchant_id: str,
    product_id: str,
    retired_by: str,
    *,
    store: EventStore,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    """Stops new sales of one of the merchant's products; another merchant's is unknown
    here. Retiring again (or racing another retire) answers the first retirement."""
    merchant = load_merchant(store, merchant_id)
    product = get_product(product_id, store=store)
    if product["merchant_id"] != merchant_id:
        raise NotFound(f"no product {product_id}")
    stream = product_stream(product_id)
    version = len(store.read_stream(stream))
    event = products.retire_product(product, retired_by, now)
    if event is not None:
        try:
            with store.unit_of_work() as uow:
                uow.append(stream, [CODEC.encode(event, metadata or {})], version)
                projections.project(uow, merchant, [event])
        except ConcurrencyError as exc:
            if not get_product(product_id, store=store).get("retired_at"):
                raise Conflict(PRODUCT_NO_RETRY.message, PRODUCT_NO_RETRY.code) from exc
    return retirement(get_product(product_id, store=store))


def retirement(product: dict) -> dict:
    return {
        "product_id": product["product_id"],
        "merchant_id": product["merchant_id"],
        "status": "retired",
        "retired_at": product["retired_at"],
    }


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(f"{text!r} is not an RFC 3339 time with a UTC offset", "invalid_time")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset: no such instant in UTC
        raise InvalidInput(f"{text!r} is out of range", "invalid_time") from None
