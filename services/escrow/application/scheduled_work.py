"""The escrow's scheduled work: unconfirmed holds lapse, expired cards are refunded, period
cards earn their elapsed days, payments left pending are rechecked against the bank,
released money is paid out T+n, and each finished day is reconciled with the bank's
statement (`daily_reconciliation`).

Every schedule is a view keyed "<ISO time>|<id>", so the work due now is a scan in key order
that stops at the present. The work comes in pages of bounded size, so that a caller with a
deadline (an RPC) is answered in time however much is due; `sweep` runs pages until nothing
due is left. Every step is idempotent, so overlapping runs only repeat no-ops.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from eventstore import EventStore
from policy import Policy
from services.domain_errors import BusinessRuleViolation, Conflict
from services.escrow.application import bank_instructions, daily_reconciliation
from services.escrow.application.commands import confirm_payment, refund_card, void_redemption
from services.escrow.application.ports import Bank
from services.escrow.application.projections import (
    CARD_EXPIRY,
    DISPUTES_BY_CARD,
    OPEN_HOLDS,
    PENDING_PAYMENTS,
    PERIOD_DUE,
    release_key,
)
from services.escrow.application.settlements import settle
from services.escrow.application.store import decide, load_card
from services.escrow.domain import deposits, releases
from services.escrow.domain.card import Card
from services.paged_work import run_pages

PAGE = 200
"""Cards decided per step and page: a page of each kind takes well under a second."""


def _due(store: EventStore, collection: str, now: datetime, budget: int):
    """Due (key, doc) entries oldest first, past those a step chose to leave for later."""
    stamp, cursor = now.isoformat(), ""
    while page := store.list_views(collection, cursor, budget):
        for key, doc in page:
            if key >= stamp:
                return
            cursor = key
            yield key, doc
        if len(page) < budget:
            return


def _work_through(
    store: EventStore, collection: str, now: datetime, budget: int, act: Callable[[str, dict], int]
) -> tuple[int, bool]:
    """Acts on due entries, oldest first, until `budget` of them did something; returns how
    many did, and whether due entries were left for the next page."""
    done = 0
    for key, due in _due(store, collection, now, budget):
        if done >= budget:
            return done, True
        done += act(key, due)
    return done, False


def _expire_holds(store: EventStore, now: datetime, budget: int) -> tuple[int, bool]:
    def lapse(_, due: dict) -> int:
        try:
            void_redemption(due["redemption_id"], None, "expired", store=store, now=now)
            return 1
        except Conflict:
            return 0  # settled meanwhile

    return _work_through(store, OPEN_HOLDS, now, budget, lapse)


def _expire_cards(
    store: EventStore, bank: Bank, policy: Policy, now: datetime, budget: int
) -> tuple[int, bool]:
    def refund(_, due: dict) -> int:
        try:
            refund_card(
                due["card_id"], None, rule="expiry", store=store, bank=bank, policy=policy, now=now
            )
            return 1
        except (Conflict, BusinessRuleViolation):
            return 0

    return _work_through(store, CARD_EXPIRY, now, budget, refund)


def _release_period_days(store: EventStore, now: datetime, budget: int) -> tuple[int, bool]:
    """A disputed card keeps its place and is passed over until its complaints resolve; its
    days elapsed meanwhile are released together afterwards."""

    def release(key: str, due: dict) -> int:
        if store.get_view(DISPUTES_BY_CARD, due["card_id"]) is not None:
            return 0
        done = decide(store, due["card_id"], lambda c: releases.release_due(c, now, disputed=False))
        if release_key(done.card) != key and store.get_view(PERIOD_DUE, key) is not None:
            with store.unit_of_work() as uow:  # an entry the card had moved on from
                uow.delete_view(PERIOD_DUE, key)
        return len(done.events)

    return _work_through(store, PERIOD_DUE, now, budget, release)


def _recover_pending_payments(
    store: EventStore, bank: Bank, policy: Policy, now: datetime, budget: int
) -> tuple[int, int, bool]:
    """Cards still waiting for their payment `pending_payment_recheck_minutes` after their
    purchase: the escrow died between the bank's yes and the activation, or the bank's
    confirmation was lost. A deposit on the bank's statement is confirmed now (the card is
    activated, or the money goes back if it cannot be); a payment the bank never took is
    abandoned once `pending_payment_abandon_hours` have passed, the consumer's cap freed.
    Returns (recovered, abandoned, left over)."""
    rules = policy.escrow
    abandon_before = (now - timedelta(hours=rules.pending_payment_abandon_hours)).isoformat()
    statements: dict[str, list[dict]] = {}

    def deposit_of(card: Card) -> dict | None:
        p, day = card.purchase, datetime.fromisoformat(card.purchase.purchased_at).date()
        while day <= now.date():  # the bank books it on the purchase day, or soon after
            if day.isoformat() not in statements:
                statements[day.isoformat()] = bank.statement(day.isoformat())
            for line in statements[day.isoformat()]:
                if (line["kind"], line["reference"], line["account"]) == (
                    "deposit",
                    p.payment_id,
                    card.card_id,
                ):
                    return line
            day += timedelta(days=1)
        return None

    counts = {"recovered": 0, "abandoned": 0}

    def recheck(key: str, due: dict) -> int:
        card = load_card(store, due["card_id"])
        if card.status != "pending_payment":  # settled meanwhile: the entry went with it
            if store.get_view(PENDING_PAYMENTS, key) is not None:
                with store.unit_of_work() as uow:
                    uow.delete_view(PENDING_PAYMENTS, key)
            return 0
        deposit = deposit_of(card)
        if deposit is not None:
            try:
                confirm_payment(
                    due["payment_id"],
                    deposit["amount"],
                    store=store,
                    bank=bank,
                    policy=policy,
                    now=now,
                )
            except BusinessRuleViolation:
                pass  # it could not be activated: the money went back
            except Conflict:
                return 0  # the bank's own confirmation settled it meanwhile
            counts["recovered"] += 1
            return 1
        if key < abandon_before:
            abandoned = bool(
                decide(
                    store,
                    card.card_id,
                    lambda c: deposits.abandon_payment(c, "bank_never_took_payment", now),
                ).events
            )
            counts["abandoned"] += abandoned
            return int(abandoned)
        return 0  # the bank may still take it: looked at again on the next run

    recheck_before = now - timedelta(minutes=rules.pending_payment_recheck_minutes)
    _, left = _work_through(store, PENDING_PAYMENTS, recheck_before, budget, recheck)
    return counts["recovered"], counts["abandoned"], left


LEGACY_PERIOD_CARDS = "period_cards"
"""Stores written before the release schedule listed every open period card by id."""


def _move_legacy_period_cards(store: EventStore, budget: int) -> None:
    """Puts each card of the old list in the schedule at its next due day."""
    for card_id, _ in store.list_views(LEGACY_PERIOD_CARDS, "", budget):
        card = load_card(store, card_id)
        with store.unit_of_work() as uow:
            if (key := release_key(card)) is not None:
                uow.put_view(PERIOD_DUE, key, {"card_id": card_id})
            uow.delete_view(LEGACY_PERIOD_CARDS, card_id)


def sweep_page(
    *, store: EventStore, bank: Bank, policy: Policy, now: datetime, budget: int = PAGE
) -> dict:
    """One bounded step of each kind of work; `more` says whether due work was left over.
    Payouts wait for the last page, so that a day's releases are paid in one payout. Finished
    days are reconciled last (a few per page): nothing done now moves money on a past day."""
    _move_legacy_period_cards(store, budget)
    counts = {"bank_instructions_resent": bank_instructions.send(store, bank)}
    counts["holds_expired"], holds_left = _expire_holds(store, now, budget)
    counts["cards_expired"], cards_left = _expire_cards(store, bank, policy, now, budget)
    counts["period_releases"], periods_left = _release_period_days(store, now, budget)
    counts["pending_payments_recovered"], counts["payments_abandoned"], pending_left = (
        _recover_pending_payments(store, bank, policy, now, budget)
    )
    more = holds_left or cards_left or periods_left or pending_left
    counts["payouts"] = 0 if more else len(settle(store=store, bank=bank, policy=policy, now=now))
    counts["days_reconciled"], days_left = daily_reconciliation.reconcile_due_days(
        store, bank, now, min(budget, daily_reconciliation.DAYS_PER_PAGE)
    )
    return {**counts, "more": more or days_left}


def sweep(
    *,
    store: EventStore,
    bank: Bank,
    policy: Policy,
    now: datetime,
    budget: int = PAGE,
    between_pages: Callable[[], None] = lambda: None,
) -> dict:
    """All the work due at `now`, page by page; the totals of what was done."""
    return run_pages(
        lambda: sweep_page(store=store, bank=bank, policy=policy, now=now, budget=budget),
        between_pages,
    )
