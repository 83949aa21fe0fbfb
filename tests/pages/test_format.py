"""static/js/format.js in the browser: money from integer fen without floats, times in
Beijing time, and the consumer pages' additions: a card code grouped in fours, a rating
average from integer tenths, and a balance in the card's own unit."""

from __future__ import annotations

import pytest

FEN = [
    (0, "¥0.00"),
    (1, "¥0.01"),
    (99, "¥0.99"),
    (100, "¥1.00"),
    (1234, "¥12.34"),
    (-5, "-¥0.05"),
    (-100000, "-¥1,000.00"),
    (123456789, "¥1,234,567.89"),
    # 2**53 - 1 fen: a float division by 100 would round the last digits.
    (2**53 - 1, "¥90,071,992,547,409.91"),
]


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


def test_money_is_formatted_from_integer_fen(page):
    got = _run(page, "arg.map((fen) => f.formatFen(fen))", [fen for fen, _ in FEN])
    assert got == [text for _, text in FEN]


def test_money_refuses_anything_but_an_integer(page):
    refused = _run(
        page,
        "arg.map((v) => { try { f.formatFen(v); return false; }"
        " catch (e) { return e instanceof TypeError; } })",
        [1.5, "100", None, 2**53],
    )
    assert refused == [True, True, True, True]


def test_times_are_shown_in_beijing_time(page):
    got = _run(
        page,
        "arg.map((t) => [f.formatDateTime(t), f.formatDate(t)])",
        ["2026-12-01T00:05:00Z", "2026-11-30T16:00:00+00:00", "2026-12-31T23:59:59+08:00"],
    )
    assert got == [
        ["2026年12月1日 08:05", "2026年12月1日"],
        ["2026年12月1日 00:00", "2026年12月1日"],
        ["2026年12月31日 23:59", "2026年12月31日"],
    ]


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
