"""Hypothesis drives the escrow's use cases over a real SQLite store: purchase, hold, confirm,
reject, expire, refund, default and restart (the store closed and reopened), in any order.

After every step the money rule is checked on every card as stored, with 0 violations:
deposited = held + released + refunded, none negative, each hold released at most once, and
the merchant figures equal to the sum of their cards.
"""
from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.domain_errors import BusinessRuleViolation, Conflict, InvalidInput, NotFound
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import defaults, handlers
from services.escrow.domain import stats
from services.escrow.domain.card import Card
from tests.escrow.test_escrow_application import Products

POLICY = load_policy()
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
EXPECTED = (BusinessRuleViolation, Conflict, InvalidInput, NotFound)
PRODUCTS = Products(**{
    f"{kind}-{merchant}": {"merchant_id": merchant, "type": kind, "price": price,
                           "bonus": bonus, "uses": uses, "validity_days": validity,
                           "period_days": period}
    for merchant in ("m-1", "m-2")
    for kind, price, bonus, uses, validity, period in (
        ("stored_value", 100_000, 20_000, 0, 365, 0), ("count", 80_000, 0, 10, 180, 0),
        ("period", 90_000, 0, 0, 0, 90))})


class MerchantsPort:
    """As the merchant service answers: a defaulted merchant sells nothing."""

    def __init__(self, defaulted: set[str]):
        self.defaulted = defaulted

    def product_for_sale(self, product_id):
        product = PRODUCTS.product_for_sale(product_id)
        if product["merchant_id"] in self.defaulted:
            raise BusinessRuleViolation("merchant is defaulted", "merchant_may_not_sell")
        return product


class EscrowMachine(RuleBasedStateMachine):
    cards = Bundle("cards")
    holds = Bundle("holds")

    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="escrow-stateful-"))
        self.store = SqliteEventStore(self.dir / "escrow.db")
        self.bank = SimulatedBank(self.dir / "bank", clock=lambda: self.now)
        self.now = T0
        self.defaulted: set[str] = set()

    def teardown(self):
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(target=cards, kind=st.sampled_from(["stored_value", "count", "period"]),
          merchant=st.sampled_from(["m-1", "m-2"]), consumer=st.sampled_from(["c-1", "c-2"]))
    def purchase(self, kind, merchant, consumer):
        try:
            bought = handlers.purchase_card(consumer, f"{kind}-{merchant}", store=self.store,
                                            merchants=MerchantsPort(self.defaulted),
                                            bank=self.bank, policy=POLICY, now=self.now)
        except EXPECTED:
            return multiple()
        return bought["card_id"], consumer

    @rule(target=holds, card=cards, amount=st.integers(1, 130_000), uses=st.integers(1, 12))
    def hold(self, card, amount, uses):
        view = handlers.get_card(card[0], store=self.store)
        value, count = {"stored_value": (amount, 0), "count": (0, uses),
                        "period": (0, 0)}[view["type"]]
        try:
            made = handlers.request_redemption(card[0], view["merchant_id"], value=value,
                                               uses=count, store=self.store, policy=POLICY,
                                               now=self.now)
        except EXPECTED:
            return None
        return made["redemption_id"], card[1]

    @rule(hold=holds, times=st.integers(1, 3))
    def confirm(self, hold, times):
        if hold is None:
            return
        answers = set()
        for _ in range(times):
            try:
                done = handlers.confirm_redemption(hold[0], hold[1], store=self.store,
                                                   now=self.now)
                answers.add((done["released_amount"], done["event_id"]))
            except EXPECTED:
                pass
        assert len(answers) <= 1, f"repeated confirms answered differently: {answers}"

    @rule(hold=holds)
    def reject(self, hold):
        if hold is not None:
            try:
                handlers.void_redemption(hold[0], hold[1], "rejected", store=self.store,
                                         now=self.now)
            except EXPECTED:
                pass

    @rule(minutes=st.sampled_from([1, 16, 60 * 24, 60 * 24 * 31, 60 * 24 * 200]))
    def time_passes(self, minutes):
        """Holds lapse, cards expire, period money is released, payouts are made."""
        self.now += timedelta(minutes=minutes)
        handlers.sweep(store=self.store, bank=self.bank, policy=POLICY, now=self.now)

    @rule(card=cards)
    def refund(self, card):
        try:
            handlers.refund_card(card[0], card[1], rule=None, store=self.store, bank=self.bank,
                                 policy=POLICY, now=self.now)
        except EXPECTED:
            pass

    @rule(merchant=st.sampled_from(["m-1", "m-2"]))
    def default(self, merchant):
        defaults.default_merchant(merchant, "absconded", "regulator:r", store=self.store,
                                  bank=self.bank, policy=POLICY, now=self.now)
        self.defaulted.add(merchant)

    @rule()
    def restart(self):
        self.store.close()
        self.store = SqliteEventStore(self.dir / "escrow.db")

    @invariant()
    def money_rule_holds_on_every_stored_card(self):
        streams, after = {}, 0
        while page := self.store.read_all(after, 1000):
            for record in page:
                after = record.position
                if record.stream.startswith("card-"):
                    streams.setdefault(record.stream, []).append(handlers.CODEC.decode(record))
        totals = {m: stats.empty(m) for m in ("m-1", "m-2")}
        for stream, events in streams.items():
            card = Card.from_events(stream.removeprefix("card-"), events)
            card.check_invariant()   # deposited = held + released + refunded, none negative
            releases = Counter(e.redemption_id for e in events
                               if type(e).__name__ == "RedemptionConfirmed")
            assert all(n == 1 for n in releases.values()), f"double release on {stream}"
            view = handlers.get_card(card.card_id, store=self.store)
            assert (view["deposited"], view["escrow_held"], view["released_amount"],
                    view["refunded_amount"]) == (card.deposited, card.held, card.released,
                                                 card.refunded), "view differs from events"
            merchant = card.purchase.merchant_id
            totals[merchant] = stats.add(totals[merchant], stats.empty(merchant),
                                         stats.contribution(card))
            if merchant in self.defaulted and card.deposited:
                assert card.status != "active", "a defaulted merchant's card stayed open"
        for merchant, expected in totals.items():
            figures = handlers.merchant_stats(merchant, store=self.store)
            assert {k: figures[k] for k in stats.FIGURES} == {
                k: expected[k] for k in stats.FIGURES}, f"figures of {merchant} drifted"


EscrowMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40,
                                           deadline=None)
TestEscrowService = EscrowMachine.TestCase
