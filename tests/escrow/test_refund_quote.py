"""A refund's quote is the refund's own decision, not committed: over random card states, a
refund made right after its quote returns the quoted amount, and a rule that does not apply
is refused with the same error by both; the quote changes nothing."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore.sqlite import SqliteEventStore
from services.domain_errors import DomainError, NotFound
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import commands, queries
from services.escrow.application.store import card_stream
from tests.support.escrow_cards import POLICY, T0, buy


def outcome(call):
    try:
        answer = call()
    except DomainError as refused:
        return ("refused", type(refused).__name__, refused.code)
    return ("refunded", answer["refund_amount"], answer["rule"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    product=st.sampled_from(["sv", "count", "period"]),
    spends=st.lists(st.tuples(st.integers(0, 12), st.integers(1, 4), st.booleans()), max_size=4),
    days_later=st.integers(0, 120),
    rule=st.sampled_from([None, "cooling_off", "on_request"]),
)
def test_a_refund_right_after_its_quote_returns_what_was_quoted(product, spends, days_later, rule):
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteEventStore(Path(tmp) / "escrow.db")
        bank = SimulatedBank(Path(tmp) / "statements", clock=lambda: T0)
        try:
            card_id = buy(store, bank, product=product)["card_id"]
            for day, size, confirm in spends:
                when = T0 + timedelta(days=day)
                try:
                    hold = commands.request_redemption(
                        card_id,
                        "m-1",
                        value=size * 5_000 if product == "sv" else 0,
                        uses=size if product == "count" else 0,
                        store=store,
                        policy=POLICY,
                        now=when,
                    )
                except DomainError:
                    continue  # balance used up: the card stays as it is
                if confirm:
                    commands.confirm_redemption(hold["redemption_id"], "c-1", store=store, now=when)
            now = T0 + timedelta(days=days_later, hours=1)
            version = len(store.read_stream(card_stream(card_id)))
            quoted = outcome(
                lambda: queries.refund_quote(
                    card_id, "c-1", rule, store=store, policy=POLICY, now=now
                )
            )
            assert len(store.read_stream(card_stream(card_id))) == version, (
                "a quote appends nothing"
            )
            refunded = outcome(
                lambda: commands.refund_card(
                    card_id, "c-1", rule=rule, store=store, bank=bank, policy=POLICY, now=now
                )
            )
            assert quoted == refunded
        finally:
            store.close()


def test_the_quote_shows_the_rule_and_the_formulas_inputs_and_only_to_the_owner(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db")
    bank = SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    card_id = buy(store, bank)["card_id"]
    quote = queries.refund_quote(card_id, "c-1", None, store=store, policy=POLICY, now=T0)
    assert (quote["rule"], quote["refund_amount"]) == ("cooling_off", 100_000)
    assert quote["inputs"]["price"] == 100_000 and quote["inputs"]["cooling_off_days"] == 7
    later = T0 + timedelta(days=30)
    with pytest.raises(DomainError) as refused:
        queries.refund_quote(card_id, "c-1", "cooling_off", store=store, policy=POLICY, now=later)
    assert refused.value.code == "cooling_off_not_applicable"
    with pytest.raises(NotFound):
        queries.refund_quote(card_id, "c-2", "on_request", store=store, policy=POLICY, now=later)
    with pytest.raises(DomainError) as bad_rule:
        queries.refund_quote(card_id, "c-1", "expiry", store=store, policy=POLICY, now=later)
    assert bad_rule.value.code == "invalid_rule"
    store.close()
