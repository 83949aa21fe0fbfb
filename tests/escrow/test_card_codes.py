"""The counter code's format: twelve digits whose check digit catches every single mistyped
digit and every swap of two neighbours, derived codes fixed by the card id."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from services.escrow.domain import card_codes

codes = st.integers(min_value=0, max_value=10**11 - 1).map(
    lambda n: card_codes.new_code(lambda _: n)
)


@given(codes)
def test_a_fresh_code_is_twelve_digits_whose_check_digit_holds(code):
    assert len(code) == 12 and code.isdigit()
    assert card_codes.check_digit_holds(code)


@given(codes, st.integers(0, 11), st.integers(1, 9))
def test_every_single_mistyped_digit_is_caught(code, at, shift):
    typo = code[:at] + str((int(code[at]) + shift) % 10) + code[at + 1 :]
    assert not card_codes.check_digit_holds(typo)


@given(codes, st.integers(0, 10))
def test_every_swap_of_two_different_neighbours_is_caught(code, at):
    swapped = code[:at] + code[at + 1] + code[at] + code[at + 2 :]
    assert swapped == code or not card_codes.check_digit_holds(swapped)


def test_codes_are_drawn_from_the_whole_range():
    rng = random.Random(7)
    drawn = {card_codes.new_code(rng.randrange) for _ in range(2_000)}
    assert len(drawn) == 2_000
    assert {c[0] for c in drawn} == set("0123456789"), "leading digits are not fixed"


def test_a_derived_code_depends_only_on_the_card_id():
    first = card_codes.derived_code("card-abc")
    assert first == card_codes.derived_code("card-abc")
    assert first != card_codes.derived_code("card-abd")
    assert card_codes.check_digit_holds(first) and len(first) == 12


def test_typed_codes_are_normalised_or_refused_as_malformed():
    assert card_codes.normalise("1234 5678-9012") == "123456789012"
    for malformed in (
        "",
        "12345678901",
        "1234567890123",
        "12345678901x",
        "１２３４５６７８９０１２",
    ):
        assert card_codes.normalise(malformed) is None, malformed
    assert card_codes.grouped("123456789012") == "1234 5678 9012"
