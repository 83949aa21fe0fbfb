"""Hypothesis drives the escrow's application handlers over a real SQLite store file, the
simulated bank and a clock the test moves: purchase, hold, confirm, reject, expire (the
scheduled work), refund, a merchant's default and restart, in any order.

Only 409 and 422 refusals (Conflict, BusinessRuleViolation) are allowed outcomes. After every
step the invariant reads the store, not the model: for every card deposited = held +
released + refunded with held from the card's stored view and the rest from its events, none
negative, no hold released or settled twice, a closed card holding nothing, nothing overdue
left open by the sweep, and every fen released either paid out or still owed. The model adds
what only it knows: the money paid in, which holds it was told were confirmed and with what
answer, and the bank's statement of every movement.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
)

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.domain_errors import BusinessRuleViolation, Conflict
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import (
    commands,
    defaults,
    projections,
    queries,
    scheduled_work,
    settlements,
)
from services.escrow.application.store import CODEC, card_stream
from services.escrow.domain import stats
from services.escrow.domain.card import Card

POLICY = load_policy()
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
ALLOWED = (Conflict, BusinessRuleViolation)  # 409 and 422; anything else is a failure
MERCHANTS = ("m-a", "m-b")
CONSUMERS = ("c-1", "c-2")
# Small prices with a bonus and three uses, so that the merchant's share is rounded on
# almost every release.
KINDS = {
    "stored_value": {
        "price": 1_000,
        "bonus": 200,
        "uses": 0,
        "validity_days": 20,
        "period_days": 0,
    },
    "count": {"price": 1_000, "bonus": 0, "uses": 3, "validity_days": 40, "period_days": 0},
    "period": {"price": 900, "bonus": 0, "uses": 0, "validity_days": 0, "period_days": 9},
}
RELEASE_FIELDS = {
    "escrow.DepositConfirmed.v1": "upfront_amount",
    "escrow.RedemptionConfirmed.v1": "released_amount",
    "escrow.FundsReleased.v1": "released_amount",
}
SETTLING = ("escrow.RedemptionConfirmed.v1", "escrow.RedemptionVoided.v1")


class Merchants:
    """The merchant service's answer: a defaulted merchant sells nothing (422)."""

    def __init__(self, defaulted: set[str]):
        self.defaulted = defaulted

    def product_for_sale(self, product_id: str) -> dict:
        kind, merchant = product_id.split("@")
        if merchant in self.defaulted:
            raise BusinessRuleViolation(
                "this merchant may not sell cards: defaulted", "merchant_may_not_sell"
            )
        return {"merchant_id": merchant, "type": kind, **KINDS[kind]}


class EscrowHandlers(RuleBasedStateMachine):
    cards = Bundle("cards")
    holds = Bundle("holds")

    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="escrow-machine-"))
        self.now = T0
        self.open()
        self.defaulted: set[str] = set()
        self.owner: dict[str, str] = {}  # card id -> consumer
        self.card_of: dict[str, str] = {}  # redemption id -> card id
        self.paid_in = 0  # what consumers paid, by the model's prices
        self.told: dict[str, tuple] = {}  # rid -> (released_amount, event_id) answered
        self.rejected: set[str] = set()

    def open(self) -> None:
        self.store = SqliteEventStore(self.dir / "escrow.db")
        self.bank = SimulatedBank(self.dir / "bank", clock=lambda: self.now)

    def teardown(self):
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- rules -----------------------------------------------------------------------------
    @rule(
        target=cards,
        kind=st.sampled_from(sorted(KINDS)),
        merchant=st.sampled_from(MERCHANTS),
        consumer=st.sampled_from(CONSUMERS),
    )
    def purchase(self, kind, merchant, consumer):
        try:
            bought = commands.purchase_card(
                consumer,
                f"{kind}@{merchant}",
                store=self.store,
                merchants=Merchants(self.defaulted),
                bank=self.bank,
                policy=POLICY,
                now=self.now,
            )
        except ALLOWED:
            return multiple()
        assert merchant not in self.defaulted, "a defaulted merchant sold a card"
        assert (bought["status"], bought["payment"]["amount"]) == ("active", KINDS[kind]["price"])
        self.paid_in += KINDS[kind]["price"]
        self.owner[bought["card_id"]] = consumer
        return bought["card_id"]

    @rule(target=holds, card=cards, value=st.integers(1, 1_300), uses=st.integers(1, 4))
    def hold(self, card, value, uses):
        view = queries.get_card(card, store=self.store)
        value, uses = {"stored_value": (value, 0), "count": (0, uses), "period": (0, 0)}[
            view["type"]
        ]  # the period card's is a check-in
        try:
            made = commands.request_redemption(
                card,
                view["merchant_id"],
                value=value,
                uses=uses,
                store=self.store,
                policy=POLICY,
                now=self.now,
            )
        except ALLOWED:
            return multiple()
        self.card_of[made["redemption_id"]] = card
        return made["redemption_id"]

    @rule(hold=holds)
    def confirm(self, hold):
        try:
            done = commands.confirm_redemption(
                hold, self.owner[self.card_of[hold]], store=self.store, now=self.now
            )
        except ALLOWED:
            assert hold not in self.told, "a confirmed hold refused a repeated confirm"
            return
        answer = (done["released_amount"], done["event_id"])
        assert hold not in self.rejected, "a rejected hold was confirmed"
        assert self.told.setdefault(hold, answer) == answer, "a repeat answered differently"

    @rule(hold=holds)
    def reject(self, hold):
        try:
            commands.void_redemption(
                hold, self.owner[self.card_of[hold]], "rejected", store=self.store, now=self.now
            )
        except ALLOWED:
            return
        assert hold not in self.told, "a confirmed hold was rejected afterwards"
        self.rejected.add(hold)

    # Jumping past a card's expiry closes most cards at once, so it is drawn less often.
    @rule(
        card=cards, past=st.sampled_from(["hold", "days", "hold", "card"]), days=st.integers(1, 6)
    )
    def expire(self, card, past, days):
        """Moves the clock past a hold's expiry, a card's expiry or some days of period
        cards, and runs the scheduled work."""
        if past == "hold":
            self.now += timedelta(minutes=POLICY.escrow.hold_expiry_minutes + 1)
        elif past == "days":
            self.now += timedelta(days=days)
        else:
            expires = queries.get_card(card, store=self.store)["expires_at"]
            self.now = max(self.now, datetime.fromisoformat(expires)) + timedelta(minutes=1)
        scheduled_work.sweep(store=self.store, bank=self.bank, policy=POLICY, now=self.now)

    @rule(card=cards)
    def refund(self, card):
        try:
            done = commands.refund_card(
                card,
                self.owner[card],
                rule=None,
                store=self.store,
                bank=self.bank,
                policy=POLICY,
                now=self.now,
            )
        except ALLOWED:
            return
        stored = [
            r
            for r in self.store.read_stream(card_stream(card))
            if r.type == "escrow.CardRefunded.v1"
        ]
        assert [(r.id, r.data["refund_amount"], r.data["rule"]) for r in stored] == [
            (done["event_id"], done["refund_amount"], done["rule"])
        ], "refund answer vs store"

    # One default per run: a rule drawn as often as the others would close every card early.
    @precondition(lambda self: not self.defaulted)
    @rule(merchant=st.sampled_from(MERCHANTS))
    def default(self, merchant):
        def declare() -> dict:
            return defaults.default_merchant(
                merchant,
                "absconded",
                "regulator:r-1",
                store=self.store,
                bank=self.bank,
                policy=POLICY,
                now=self.now,
            )

        try:
            result = declare()
        except ALLOWED:
            return
        self.defaulted.add(merchant)
        assert declare() == result, "declaring the default again changed its totals"
        by_default = [
            r
            for r in self.store.iter_all()
            if r.type == "escrow.CardRefunded.v1"
            and r.data["rule"] == "merchant_default"
            and r.data["merchant_id"] == merchant
        ]
        assert (result["cards_refunded"], result["amount_refunded"]) == (
            len(by_default),
            sum(r.data["refund_amount"] for r in by_default),
        )

    @rule()
    def restart(self):
        head = self.store.head_position()
        self.store.close()
        self.open()
        assert self.store.head_position() == head, "events lost across a restart"

    # --- the invariant ---------------------------------------------------------------------
    @invariant()
    def no_money_rule_violation(self):
        violations: list[str] = []
        streams = defaultdict(list)
        for record in self.store.iter_all():
            streams[record.stream].append(record)
        totals = Counter()
        released_to, paid_to = Counter(), Counter()
        confirmed_in_store: dict[str, tuple] = {}
        for stream, records in streams.items():
            if stream.startswith("payouts-"):
                paid_to[stream.removeprefix("payouts-")] += sum(
                    r.data["amount"] for r in records if r.type == "escrow.PayoutMade.v1"
                )
                continue
            if not stream.startswith("card-"):
                continue
            card_id = stream.removeprefix("card-")
            view = queries.get_card(card_id, store=self.store)
            numbers = {
                "deposited": sum(
                    r.data["amount"] for r in records if r.type == "escrow.DepositConfirmed.v1"
                ),
                "released": sum(
                    r.data[RELEASE_FIELDS[r.type]] for r in records if r.type in RELEASE_FIELDS
                ),
                "refunded": sum(
                    r.data["refund_amount"] for r in records if r.type == "escrow.CardRefunded.v1"
                ),
                "held": view["escrow_held"],
            }
            totals.update(numbers)
            released_to[view["merchant_id"]] += numbers["released"]
            problem = f"{card_id} {numbers} {view['status']}"
            if numbers["deposited"] != numbers["held"] + numbers["released"] + numbers["refunded"]:
                violations.append(f"deposited != held + released + refunded: {problem}")
            if min(numbers.values()) < 0:
                violations.append(f"negative balance: {problem}")
            if (view["deposited"], view["released_amount"], view["refunded_amount"]) != (
                numbers["deposited"],
                numbers["released"],
                numbers["refunded"],
            ):
                violations.append(f"view differs from events: {problem} {view}")
            if view["status"] in ("refunded", "expired") and numbers["held"]:
                violations.append(f"a closed card still holds money: {problem}")
            if view["status"] == "active" and datetime.fromisoformat(view["expires_at"]) < self.now:
                violations.append(f"an expired card left open by the sweep: {problem}")
            if view["status"] == "active" and view["merchant_id"] in self.defaulted:
                violations.append(f"a defaulted merchant's card is open: {problem}")
            requested = {
                r.data["redemption_id"]: r.data["expires_at"]
                for r in records
                if r.type == "escrow.RedemptionRequested.v1"
            }
            settled = Counter(r.data["redemption_id"] for r in records if r.type in SETTLING)
            releases = Counter(
                r.data["redemption_id"]
                for r in records
                if r.type == "escrow.RedemptionConfirmed.v1"
            )
            violations += [f"hold {rid} released {n} times" for rid, n in releases.items() if n > 1]
            violations += [f"hold {rid} settled {n} times" for rid, n in settled.items() if n > 1]
            pending = {rid: at for rid, at in requested.items() if rid not in settled}
            violations += [
                f"hold {rid} overdue and still pending"
                for rid, at in pending.items()
                if datetime.fromisoformat(at) < self.now
            ]
            if pending and view["status"] != "active":
                violations.append(f"holds {sorted(pending)} open on a closed card: {problem}")
            confirmed_in_store.update(
                {
                    r.data["redemption_id"]: (r.data["released_amount"], r.id)
                    for r in records
                    if r.type == "escrow.RedemptionConfirmed.v1"
                }
            )

        # Each merchant's figures equal a fresh sum over its cards folded from their events.
        expected = {m: stats.empty(m) for m in MERCHANTS}
        for stream, records in streams.items():
            if stream.startswith("card-"):
                card = Card.from_events(
                    stream.removeprefix("card-"), [CODEC.decode(r) for r in records]
                )
                merchant = card.purchase.merchant_id
                expected[merchant] = stats.add(
                    expected[merchant], stats.empty(merchant), stats.contribution(card)
                )
        for merchant, figures in expected.items():
            kept = queries.merchant_stats(merchant, store=self.store)
            if {k: kept[k] for k in stats.FIGURES} != {k: figures[k] for k in stats.FIGURES}:
                violations.append(f"{merchant}: figures {kept} != from events {figures}")

        unsettled = Counter()
        for _, owed in self.store.list_views(projections.UNSETTLED, "", 5_000):
            unsettled[owed["merchant_id"]] += owed["amount"]
        for merchant in MERCHANTS:
            # What a defaulted merchant was owed is withheld, never paid and never lost.
            withheld = settlements.withheld(merchant, store=self.store)["amount"]
            if withheld and merchant not in self.defaulted:
                violations.append(f"{merchant}: withheld {withheld} without a default")
            if paid_to[merchant] + unsettled[merchant] + withheld != released_to[merchant]:
                violations.append(
                    f"{merchant}: paid out {paid_to[merchant]} + owed "
                    f"{unsettled[merchant]} + withheld {withheld} != released "
                    f"{released_to[merchant]}"
                )

        # The model: money paid in, the confirms it was answered, and the bank's statement.
        if (
            totals["deposited"] != self.paid_in
            or totals["held"] + totals["released"] + totals["refunded"] != self.paid_in
        ):
            violations.append(f"paid in {self.paid_in}, but the cards hold {dict(totals)}")
        if confirmed_in_store != self.told:
            violations.append(
                f"releases in the store {confirmed_in_store} != confirms answered {self.told}"
            )
        bank = Counter()
        for statement in (self.dir / "bank").glob("*.jsonl"):
            for line in statement.read_text().splitlines():
                movement = json.loads(line)
                bank[movement["kind"]] += movement["amount"]
        if (bank["deposit"], bank["refund"], bank["payout"]) != (
            self.paid_in,
            totals["refunded"],
            sum(paid_to.values()),
        ):
            violations.append(
                f"bank statement {dict(bank)} vs paid in {self.paid_in}, "
                f"refunded {totals['refunded']}, paid out {dict(paid_to)}"
            )
        assert violations == [], "\n".join(violations)


EscrowHandlers.TestCase.settings = settings(
    max_examples=250,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestEscrowHandlers = EscrowHandlers.TestCase
