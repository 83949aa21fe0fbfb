"""The code a consumer shows at the counter: twelve digits, eleven random and a check digit.

Eleven random digits give 10^11 codes, so typing codes at random finds nobody's card in
practice, and a merchant's lookup only ever searches its own cards. The check digit is the
Damm algorithm's: it catches every single mistyped digit and every swap of two adjacent
digits, so a typo is refused before any lookup. Codes are shown in groups of four
("1234 5678 9012"); spaces and hyphens typed between the digits are ignored.

Cards bought before codes were issued have no `CardCodeIssued` event: their code is derived
from the card id (`derived_code`), the same on every replay. Codes are unique per merchant,
which is all a lookup needs: the purchase draws again when the merchant already has one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

DIGITS = 12
_RANDOM_DIGITS = DIGITS - 1

# The Damm algorithm's quasigroup of order 10 (weakly totally anti-symmetric).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def _damm(digits: str) -> int:
    interim = 0
    for digit in digits:
        interim = _DAMM[interim][int(digit)]
    return interim


def with_check_digit(body: str) -> str:
    return body + str(_damm(body))


def new_code(randbelow: Callable[[int], int]) -> str:
    """A fresh code; `randbelow` is `secrets.randbelow` outside tests."""
    return with_check_digit(str(randbelow(10**_RANDOM_DIGITS)).zfill(_RANDOM_DIGITS))


def derived_code(card_id: str) -> str:
    """The code of a card bought before codes were issued, fixed by its id."""
    number = int.from_bytes(hashlib.sha256(f"card-code|{card_id}".encode()).digest()[:8], "big")
    return with_check_digit(str(number % 10**_RANDOM_DIGITS).zfill(_RANDOM_DIGITS))


def normalise(typed: str) -> str | None:
    """The twelve digits of a code as typed (spaces and hyphens dropped), or None when it is
    not twelve ASCII digits: malformed, not merely mistyped."""
    digits = typed.replace(" ", "").replace("-", "")
    if len(digits) != DIGITS or not (digits.isascii() and digits.isdigit()):
        return None
    return digits


def check_digit_holds(code: str) -> bool:
    return _damm(code) == 0


def grouped(code: str) -> str:
    """The code as shown to people: "1234 5678 9012"."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))
