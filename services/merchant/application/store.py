"""The merchant service's event-sourced loop: load a merchant, decide, commit.

`decide` runs the shared loop (services.event_sourcing) with the merchant's policy: no retry,
the first concurrent writer wins and the other's client sees 409 `version_conflict`.
`commit` appends at the version read and projects, in one unit of work. A merchant's USCC
lives in a stream of its own (`uscc-<code>`): claimed in the unit of work that records the
application, released in the one that makes the merchant closed or defaulted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eventstore import EventStore
from eventstore.codec import EventCodec
from services.domain_errors import NotFound
from services.event_sourcing import Decided, RetryPolicy, run
from services.merchant.application import projections
from services.merchant.domain import model
from services.merchant.domain.events import MERCHANT_EVENTS

CODEC = EventCodec(MERCHANT_EVENTS)
MERCHANT_NO_RETRY = RetryPolicy(1, "the merchant changed meanwhile; retry")
"""services.event_sourcing.NO_RETRY, in the merchant's words."""
PRODUCT_NO_RETRY = RetryPolicy(1, "the product changed meanwhile; retry")
PHONE = "contact_phone"
"""The vault purpose a merchant's contact phone is encrypted for."""


def merchant_stream(merchant_id: str) -> str:
    return f"merchant-{merchant_id}"


def uscc_stream(uscc: str) -> str:
    return f"uscc-{uscc.upper()}"


def product_stream(product_id: str) -> str:
    return f"product-{product_id}"


def load_merchant(store: EventStore, merchant_id: str) -> model.Merchant:
    records = store.read_stream(merchant_stream(merchant_id))
    merchant = model.Merchant.from_events(merchant_id, (CODEC.decode(r) for r in records))
    if not merchant.exists:
        raise NotFound(f"no merchant {merchant_id}")
    return merchant


def uscc_claims(store: EventStore, uscc: str) -> tuple[str | None, int]:
    """Who holds the code now, and the version of its stream to append at."""
    records = store.read_stream(uscc_stream(uscc))
    return model.uscc_holder(CODEC.decode(r) for r in records), len(records)


@dataclass(frozen=True)
class UsccClaim:
    """A claim on a USCC, decided on its stream as read at `version`."""

    event: model.UsccClaimed
    version: int


def commit(
    store: EventStore,
    merchant: model.Merchant,
    events: Sequence[object],
    metadata: dict | None,
    *,
    claim: UsccClaim | None = None,
) -> model.Merchant:
    """Appends `events` at the version the merchant was read at, with the USCC claim or
    release they imply, and projects them, in one unit of work; returns the merchant with
    the events applied. A concurrent writer makes it raise ConcurrencyError."""
    metadata = metadata or {}
    release = None
    if (
        merchant.status not in model.FINAL
        and merchant.uscc
        and any(
            isinstance(e, model.MerchantStatusChanged) and e.status in model.FINAL for e in events
        )
    ):
        # Released in the same transaction as the status change, at the version read: the
        # code is free exactly when the merchant stops being live, and a claim racing it
        # makes this append conflict (the caller retries).
        holder, version = uscc_claims(store, merchant.uscc)
        if holder == merchant.merchant_id:
            release = version
    with store.unit_of_work() as uow:
        if claim is not None:
            # Of two applications racing for one code, the second's append conflicts and
            # its whole transaction rolls back.
            uow.append(
                uscc_stream(claim.event.uscc), [CODEC.encode(claim.event, metadata)], claim.version
            )
        uow.append(
            merchant_stream(merchant.merchant_id),
            [CODEC.encode(e, metadata) for e in events],
            merchant.version,
        )
        projections.project(uow, merchant, events)
        if release is not None:
            uow.append(
                uscc_stream(merchant.uscc),
                [
                    CODEC.encode(
                        model.UsccReleased(merchant.uscc, merchant.merchant_id, merchant.status),
                        metadata,
                    )
                ],
                release,
            )
    return merchant


def decide(
    store: EventStore,
    merchant_id: str,
    decision: Callable[[model.Merchant], Sequence[object]],
    metadata: dict | None,
    retry: RetryPolicy = MERCHANT_NO_RETRY,
) -> Decided[model.Merchant, model.Merchant]:
    """Loads the merchant, asks `decision` for its events and commits them (see `run`)."""
    return run(
        lambda: load_merchant(store, merchant_id),
        decision,
        lambda merchant, events: commit(store, merchant, events, metadata),
        retry,
    )


def events_of(event: object | None) -> list[object]:
    """A domain decision that answers one event or None (nothing to do), as a list."""
    return [] if event is None else [event]
