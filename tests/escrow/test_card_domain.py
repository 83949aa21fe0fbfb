"""The escrow card alone: formulas to the fen, holds, refunds, and the money rule under any
sequence of commands (hypothesis, stateful)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from services.domain_errors import BusinessRuleViolation, Conflict, DomainError
from services.escrow.domain import deposits, redemptions, refunds, releases
from services.escrow.domain.card import Card
from services.escrow.domain.events import CardPurchased

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def purchase(
    card_type="stored_value",
    price=100_000,
    bonus=20_000,
    uses=0,
    validity_days=365,
    period_days=0,
    ratio=100,
) -> CardPurchased:
    return CardPurchased(
        "c-1",
        "consumer-1",
        "m-1",
        "p-1",
        card_type,
        price,
        bonus,
        uses,
        validity_days,
        period_days,
        "pay-1",
        ratio,
        T0.isoformat(),
    )


def active(**kwargs) -> Card:
    card = Card.from_events("c-1", [purchase(**kwargs)])
    for event in deposits.confirm_deposit(
        card, "pay-1", card.purchase.price, T0, cooling_off_days=7
    ):
        card.apply(event)
    return card


def run(card, events):
    for event in events:
        card.apply(event)
    card.check_invariant()
    return events


def redeem(card, rid, now=T0, **amount):
    run(card, redemptions.request_redemption(card, rid, now=now, hold_minutes=15, **amount))
    return run(card, redemptions.confirm_redemption(card, rid, now + timedelta(minutes=1)))


def test_stored_value_pro_rata_to_the_fen():
    card = active(price=100_000, bonus=20_000)  # pays 1,000 yuan, gets 1,200 of value
    assert redeem(card, "r1", value=30_000)[0].released_amount == 25_000
    assert redeem(card, "r2", value=1)[0].released_amount == 0  # floor(30001*100/120) = 25000
    assert redeem(card, "r3", value=5)[0].released_amount == 5  # floor(30006*100/120) = 25005
    events = run(
        card, refunds.refund(card, "on_request", T0 + timedelta(days=30), cooling_off_days=7)
    )
    refund = events[-1]
    assert refund.refund_amount == 100_000 - 25_005 == card.refunded
    assert refund.inputs["value_used"] == 30_006 and refund.rule == "on_request"
    assert card.released + card.refunded == card.deposited == 100_000


def test_fully_used_cards_release_exactly_their_price():
    stored = active(price=99_999, bonus=33_333)
    for i in range(7):
        redeem(stored, f"r{i}", value=19_047)
    redeem(stored, "last", value=99_999 + 33_333 - 7 * 19_047)
    assert stored.released == 99_999 and stored.held == 0
    count = active(card_type="count", price=10_000, bonus=0, uses=3)
    for i in range(3):
        redeem(count, f"r{i}", uses=1)
    assert [count.released, count.held] == [10_000, 0]


def test_count_card_and_list_price_formula():
    card = active(card_type="count", price=80_000, bonus=0, uses=10)
    assert redeem(card, "r", uses=3)[0].released_amount == 24_000
    refund = run(card, refunds.refund(card, "on_request", T0, cooling_off_days=7))[-1]
    assert refund.refund_amount == 56_000
    listed = active(price=100_000, bonus=20_000)
    redeem(listed, "r", value=60_000)  # earned pro rata: 50,000
    events = run(
        listed,
        refunds.refund(
            listed, "on_request", T0, cooling_off_days=7, stored_value_formula="list_price"
        ),
    )
    assert events[-2].released_amount == 10_000 and events[-1].refund_amount == 40_000


def test_period_card_releases_pro_rata_and_refunds_unserved_days():
    card = active(card_type="period", price=36_500, bonus=0, period_days=365)
    assert run(card, releases.release_due(card, T0 + timedelta(days=10), disputed=True)) == []
    released = run(card, releases.release_due(card, T0 + timedelta(days=10), disputed=False))
    assert released[0].released_amount == 1_000
    assert run(card, releases.release_due(card, T0 + timedelta(days=10), disputed=False)) == []
    check_in = redeem(card, "ci", now=T0 + timedelta(days=11))
    assert check_in[0].released_amount == 0, "check-ins release nothing by themselves"
    events = run(
        card, refunds.refund(card, "merchant_default", T0 + timedelta(days=100), cooling_off_days=7)
    )
    assert events[-1].refund_amount == 36_500 - 10_000 and card.released == 10_000


def test_holds_reserve_balance_and_confirm_exactly_once():
    card = active(price=10_000, bonus=0)
    run(card, redemptions.request_redemption(card, "a", value=6_000, now=T0, hold_minutes=15))
    with pytest.raises(BusinessRuleViolation) as info:
        redemptions.request_redemption(card, "b", value=4_001, now=T0, hold_minutes=15)
    assert info.value.code == "insufficient_balance"
    run(card, redemptions.confirm_redemption(card, "a", T0))
    assert redemptions.confirm_redemption(card, "a", T0) == [], "a repeat changes nothing"
    run(card, redemptions.request_redemption(card, "c", value=100, now=T0, hold_minutes=15))
    run(card, redemptions.void_redemption(card, "c", "rejected", T0))
    with pytest.raises(Conflict):
        redemptions.confirm_redemption(card, "c", T0)
    run(card, redemptions.request_redemption(card, "d", value=100, now=T0, hold_minutes=15))
    late = run(card, redemptions.confirm_redemption(card, "d", T0 + timedelta(minutes=15)))
    assert late[0].reason == "expired" and card.released == 6_000


def test_cooling_off_and_escrow_ratio():
    card = active(price=50_000, bonus=0, ratio=40)
    # The up-front share is held through the cooling-off window (finding 14).
    assert card.upfront_share == 30_000 and card.upfront == 0 and card.held == 50_000
    refund = run(
        card, refunds.refund(card, "cooling_off", T0 + timedelta(days=7), cooling_off_days=7)
    )[-1]
    assert refund.refund_amount == 50_000 and card.released == 0
    used = active()
    redeem(used, "r", value=1)
    with pytest.raises(BusinessRuleViolation):
        refunds.refund(used, "cooling_off", T0, cooling_off_days=7)
    late = active()
    with pytest.raises(BusinessRuleViolation):
        refunds.refund(late, "cooling_off", T0 + timedelta(days=7, seconds=1), cooling_off_days=7)
    with pytest.raises(BusinessRuleViolation):
        refunds.refund(late, "expiry", T0 + timedelta(days=364), cooling_off_days=7)
    run(late, refunds.refund(late, "expiry", T0 + timedelta(days=365), cooling_off_days=7))
    assert late.status == "expired"
    with pytest.raises(Conflict):
        refunds.refund(late, "on_request", T0, cooling_off_days=7)


class CardMachine(RuleBasedStateMachine):
    """Random purchases, holds, confirms, rejects, expiries, releases, refunds and restarts:
    the money rule must hold after every step, and a replay must give the same card."""

    def __init__(self):
        super().__init__()
        self.card = None
        self.events = []
        self.now = T0
        self.holds = 0

    def _do(self, decide):
        try:
            new = decide()
        except DomainError:
            return
        for event in new:
            self.card.apply(event)
        self.events += new

    @rule(
        kind=st.sampled_from(["stored_value", "count", "period"]),
        price=st.integers(1, 500_000),
        bonus=st.integers(0, 150_000),
        uses=st.integers(1, 60),
        days=st.integers(1, 730),
        ratio=st.integers(1, 100),
    )
    def buy(self, kind, price, bonus, uses, days, ratio):
        p = purchase(
            kind,
            price,
            bonus if kind == "stored_value" else 0,
            uses if kind == "count" else 0,
            days,
            days if kind == "period" else 0,
            ratio,
        )
        self.card, self.events = Card.from_events("c-1", [p]), [p]
        self._do(
            lambda: deposits.confirm_deposit(
                self.card, "pay-1", price, self.now, cooling_off_days=7
            )
        )

    @precondition(lambda self: self.card is not None)
    @rule(amount=st.integers(1, 700_000))
    def hold(self, amount):
        self.holds += 1
        kind = self.card.purchase.card_type
        kw = (
            {"value": amount}
            if kind == "stored_value"
            else {"uses": amount % 5 + 1}
            if kind == "count"
            else {}
        )
        self._do(
            lambda: redemptions.request_redemption(
                self.card, f"h{self.holds}", now=self.now, hold_minutes=15, **kw
            )
        )

    @precondition(lambda self: self.card is not None and self.card.holds)
    @rule(data=st.data(), action=st.sampled_from(["confirm", "reject", "expire"]))
    def settle_hold(self, data, action):
        rid = data.draw(st.sampled_from(sorted(self.card.holds)))
        if action == "confirm":
            self._do(lambda: redemptions.confirm_redemption(self.card, rid, self.now))
        else:
            reason = "rejected" if action == "reject" else "expired"
            self._do(lambda: redemptions.void_redemption(self.card, rid, reason, self.now))

    @precondition(lambda self: self.card is not None)
    @rule(minutes=st.integers(0, 60 * 24 * 400))
    def time_passes(self, minutes):
        self.now += timedelta(minutes=minutes)
        self._do(lambda: releases.release_due(self.card, self.now, disputed=False))

    @precondition(lambda self: self.card is not None)
    @rule(
        rule_name=st.sampled_from(refunds.REFUND_RULES),
        formula=st.sampled_from(["pro_rata", "list_price"]),
    )
    def refund(self, rule_name, formula):
        self._do(
            lambda: refunds.refund(
                self.card, rule_name, self.now, cooling_off_days=7, stored_value_formula=formula
            )
        )

    @precondition(lambda self: self.card is not None)
    @rule()
    def restart(self):
        replayed = Card.from_events("c-1", self.events)
        assert (replayed.deposited, replayed.released, replayed.refunded, replayed.status) == (
            self.card.deposited,
            self.card.released,
            self.card.refunded,
            self.card.status,
        )
        self.card = replayed

    @invariant()
    def money_rule(self):
        if self.card is not None:
            self.card.check_invariant()
            assert self.card.released <= self.card.purchase.price
            if self.card.status in ("refunded", "expired"):
                assert self.card.held == 0


TestCardMachine = CardMachine.TestCase
TestCardMachine.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
