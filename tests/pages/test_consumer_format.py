"""The consumer pages' additions to static/js/format.js, in the browser: a card code grouped
in fours, a rating average from integer tenths, and a balance in the card's own unit."""

from __future__ import annotations

import pytest


@pytest.fixture
def page(desktop):
    page = desktop.new_page()
    page.goto("/login")  # any page of ours: the module is fetched from the same origin
    return page


def _run(page, expression: str, argument):
    return page.evaluate(
        "async (arg) => { const f = await import('/static/js/format.js');"
        f" return {expression}; }}",
        argument,
    )


def test_a_card_code_is_grouped_in_fours(page):
    got = _run(page, "arg.map((c) => f.formatCardCode(c))", ["123456789012", "1234", "12345"])
    assert got == ["1234 5678 9012", "1234", "1234 5"]


def test_a_rating_average_is_written_from_tenths(page):
    got = _run(page, "arg.map((t) => f.formatTenths(t))", [43, 50, 10, 7])
    assert got == ["4.3", "5.0", "1.0", "0.7"]
    refused = _run(
        page, "(() => { try { f.formatTenths(arg); } catch (e) { return e.name; } })()", 4.3
    )
    assert refused == "TypeError"


def test_a_balance_is_shown_in_its_cards_unit(page):
    got = _run(
        page,
        "arg.map(([type, balance]) => f.formatBalance(type, balance))",
        [
            ["stored_value", {"value": 110000}],
            ["count", {"uses": 7}],
            ["period", {"days_left": 30}],
        ],
    )
    assert got == ["¥1,100.00", "7 次", "30 天"]
