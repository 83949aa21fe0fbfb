"""The verifiable 双随机 draw: a pure function of (seed, eligible list, rules). Stdlib only.

Anyone holding the published seed, the eligible list and the rules can re-run it and get the
same merchants, modes and inspectors; the seed's SHA-256 and the list's hash are committed
before the draw, so nobody could have chosen them.

* Canonical JSON: sorted keys, separators "," and ":", UTF-8 (no escaping of non-ASCII), no
  floats, no NaN, string keys only.
* The byte stream of a label: HMAC-SHA256(key=seed, msg=UTF-8(label) || 0x00 || counter as 8
  bytes big-endian), counter 0, 1, 2, ..., the 32-byte blocks concatenated. Every label has
  its own stream, read from its start.
* An integer in [0, n): read 8 bytes as an unsigned big-endian x; accept x when
  x < 2**64 - (2**64 mod n) and return x mod n, else read 8 more bytes (rejection sampling).
* Picking k of a list a[0..n-1] (a partial Fisher–Yates): for i = 0 .. k-1, j = i + integer in
  [0, n - i), swap a[i] and a[j]; the picks are a[0..k-1] in that order.
* Merchants: ids are sorted by code point and must be unique. For a routine plan, merchants
  white-listed or at quota are left out. Per tier A, B, C, D the remaining n merchants, sorted,
  give k = ceil(n * share / (100 * periods)) picks from the stream "merchants:<tier>".
* Mode: routine plans use the rules' routine mode for the tier (A, B data; C, D visit); special
  plans always visit.
* Inspectors for a visit to merchant m: the roster sorted by id, minus those with m in their
  conflicts or blocks; with at least `inspectors_per_visit` of them, that many picks from the
  stream "inspectors:<m>", in the order picked. With fewer, the visit is listed in
  `unstaffed` (same shape, `inspectors` empty) instead of `inspections`.
* inspection_id = "in-" + the first 16 hex of SHA-256(seed bytes || UTF-8(merchant id)).
* Rules: the eligible list's "rules" object {shares: {A..D: percent}, periods,
  routine_modes: {A..D: data|visit}, inspectors_per_visit}, committed with the list. A list
  without "rules" is drawn with the rules given (the CLI's flags), else the defaults above.
* Output: {"inspections": [...], "unstaffed": [...]}, each sorted by merchant id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.domain_errors import InvalidInput

TIERS = ("A", "B", "C", "D")
KINDS = ("routine", "special")
MODES = ("data", "visit")
_SEED = re.compile(r"[0-9a-f]{64}")
_TWO_64 = 1 << 64


@dataclass(frozen=True)
class DrawRules:
    """What the draw takes from policy. `shares` are percent of a tier's eligible merchants per
    year, spread evenly over `periods` plan periods a year."""

    shares: Mapping[str, int] = field(default_factory=lambda: {"A": 5, "B": 20, "C": 60, "D": 100})
    periods: int = 4
    routine_modes: Mapping[str, str] = field(
        default_factory=lambda: {"A": "data", "B": "data", "C": "visit", "D": "visit"}
    )
    inspectors_per_visit: int = 2

    def __post_init__(self) -> None:
        for tier in TIERS:
            share = self.shares.get(tier)
            if type(share) is not int or not 0 <= share <= 100:
                raise InvalidInput(f"the share of tier {tier} must be an integer 0..100")
            if self.routine_modes.get(tier) not in MODES:
                raise InvalidInput(f"the routine mode of tier {tier} must be data or visit")
        if type(self.periods) is not int or self.periods < 1:
            raise InvalidInput("periods must be a positive integer")
        if type(self.inspectors_per_visit) is not int or self.inspectors_per_visit < 1:
            raise InvalidInput("inspectors_per_visit must be a positive integer")

    def count(self, eligible_in_tier: int, tier: str) -> int:
        """ceil(n * share / (100 * periods)), in integers."""
        denominator = 100 * self.periods
        return (eligible_in_tier * self.shares[tier] + denominator - 1) // denominator


def canonical(obj: Any) -> bytes:
    """Canonical JSON bytes; floats (and anything but dicts with string keys, lists, strings,
    integers, booleans and null) are refused."""
    _check_canonical(obj)
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise InvalidInput("canonical JSON strings must be valid Unicode") from None


def _check_canonical(obj: Any) -> None:
    if obj is None or isinstance(obj, str | bool | int):
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise InvalidInput("canonical JSON keys must be strings")
            _check_canonical(value)
    elif isinstance(obj, list | tuple):
        for item in obj:
            _check_canonical(item)
    elif isinstance(obj, float):
        raise InvalidInput("canonical JSON has no floats")
    else:
        raise InvalidInput(f"canonical JSON cannot hold {type(obj).__name__}")


def commitment(seed_bytes: bytes) -> str:
    return hashlib.sha256(seed_bytes).hexdigest()


def eligible_hash(eligible: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(eligible)).hexdigest()


def seed_bytes(seed_hex: str) -> bytes:
    if not isinstance(seed_hex, str) or not _SEED.fullmatch(seed_hex):
        raise InvalidInput("the seed must be 64 lowercase hex characters (32 bytes)")
    return bytes.fromhex(seed_hex)


class Stream:
    """The byte stream of one label, and unbiased integers read from it."""

    def __init__(self, seed: bytes, label: str) -> None:
        self._mac = hmac.new(seed, label.encode() + b"\x00", hashlib.sha256)
        self._blocks = self._generate()
        self._buffer = b""

    def _generate(self) -> Iterator[bytes]:
        counter = 0
        while True:
            mac = self._mac.copy()
            mac.update(counter.to_bytes(8, "big"))
            yield mac.digest()
            counter += 1

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._buffer += next(self._blocks)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def below(self, n: int) -> int:
        """An integer in [0, n), by rejection sampling on 8-byte words."""
        if not 1 <= n < _TWO_64:
            raise ValueError("n must be in [1, 2**64)")
        limit = _TWO_64 - _TWO_64 % n
        while True:
            x = int.from_bytes(self.read(8), "big")
            if x < limit:
                return x % n


def pick(stream: Stream, items: list[str], k: int) -> list[str]:
    """k items without replacement, by a partial Fisher–Yates shuffle, in the order picked."""
    a = list(items)
    for i in range(min(k, len(a))):
        j = i + stream.below(len(a) - i)
        a[i], a[j] = a[j], a[i]
    return a[:k]


def inspection_id(seed: bytes, merchant_id: str) -> str:
    return "in-" + hashlib.sha256(seed + merchant_id.encode()).hexdigest()[:16]


def _flag(item: Mapping[str, Any], name: str) -> bool:
    value = item.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false")
    return value


def _ids(item: Mapping[str, Any], name: str) -> set[str]:
    value = item.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{name} must be a list of merchant ids")
    return set(value)


def _unique_id(item: Any, key: str, seen: set[str]) -> str:
    if not isinstance(item, Mapping):
        raise InvalidInput("each merchant and inspector must be an object")
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{key} must be a non-empty string")
    if value in seen:
        raise InvalidInput(f"{key} {value} appears twice")
    seen.add(value)
    return value


def _kind_of(eligible: Mapping[str, Any], kind: str | None) -> str:
    listed = eligible.get("kind")
    if listed is not None and kind is not None and listed != kind:
        raise InvalidInput(f"the eligible list is for a {listed} plan, not {kind}")
    chosen = kind or listed or "routine"
    if chosen not in KINDS:
        raise InvalidInput("kind must be routine or special")
    return chosen


RULE_KEYS = ("inspectors_per_visit", "periods", "routine_modes", "shares")


def rules_as_listed(rules: DrawRules) -> dict[str, Any]:
    """The rules as an eligible list carries them (its "rules"), so they are hashed and
    committed with it: a policy changed between commitment and draw changes nothing."""
    return {
        "inspectors_per_visit": rules.inspectors_per_visit,
        "periods": rules.periods,
        "routine_modes": dict(rules.routine_modes),
        "shares": dict(rules.shares),
    }


def rules_of(eligible: Mapping[str, Any], given: DrawRules | None = None) -> DrawRules:
    """The eligible list's own "rules" when it has them (refusing `given` rules that differ),
    else `given`, else the defaults."""
    listed = eligible.get("rules")
    if listed is None:
        return given or DrawRules()
    if not isinstance(listed, Mapping) or set(listed) != set(RULE_KEYS):
        raise InvalidInput(f"the eligible list's rules must have exactly {', '.join(RULE_KEYS)}")
    shares, modes = listed["shares"], listed["routine_modes"]
    if not isinstance(shares, Mapping) or not isinstance(modes, Mapping):
        raise InvalidInput("the eligible list's shares and routine modes must be objects")
    rules = DrawRules(
        shares=dict(shares),
        periods=listed["periods"],
        routine_modes=dict(modes),
        inspectors_per_visit=listed["inspectors_per_visit"],
    )
    if given is not None and rules_as_listed(given) != rules_as_listed(rules):
        raise InvalidInput("the rules given differ from the eligible list's own")
    return rules


def draw(
    seed_hex: str,
    eligible: Mapping[str, Any],
    rules: DrawRules | None = None,
    kind: str | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The plan's inspections: a pure function of its arguments (see the module docstring).
    The rules are the eligible list's "rules" when it has them; `kind` defaults to the
    eligible list's "kind", else routine."""
    seed = seed_bytes(seed_hex)
    if not isinstance(eligible, Mapping):
        raise InvalidInput("the eligible list must be an object")
    rules = rules_of(eligible, rules)
    plan_kind = _kind_of(eligible, kind)
    merchants, inspectors = eligible.get("merchants", []), eligible.get("inspectors", [])
    if not isinstance(merchants, list) or not isinstance(inspectors, list):
        raise InvalidInput("merchants and inspectors must be lists")

    by_tier: dict[str, list[str]] = {tier: [] for tier in TIERS}
    seen: set[str] = set()
    for merchant in merchants:
        merchant_id = _unique_id(merchant, "merchant_id", seen)
        tier = merchant.get("tier")
        if not isinstance(tier, str) or tier not in by_tier:
            raise InvalidInput(f"merchant {merchant_id} has no tier A, B, C or D")
        left_out = _flag(merchant, "white_listed") | _flag(merchant, "at_quota")
        if plan_kind == "special" or not left_out:
            by_tier[tier].append(merchant_id)

    barred: dict[str, set[str]] = {}
    roster: set[str] = set()
    for inspector in inspectors:
        inspector_id = _unique_id(inspector, "inspector_id", roster)
        for merchant_id in _ids(inspector, "conflicts") | _ids(inspector, "blocked"):
            barred.setdefault(merchant_id, set()).add(inspector_id)
    ordered_roster = sorted(roster)

    inspections, unstaffed = [], []
    for tier in TIERS:
        candidates = sorted(by_tier[tier])
        count = rules.count(len(candidates), tier)
        mode = rules.routine_modes[tier] if plan_kind == "routine" else "visit"
        for merchant_id in pick(Stream(seed, f"merchants:{tier}"), candidates, count):
            entry: dict[str, Any] = {
                "inspection_id": inspection_id(seed, merchant_id),
                "merchant_id": merchant_id,
                "mode": mode,
                "inspectors": [],
            }
            if mode == "visit":
                no = barred.get(merchant_id, set())
                free = [i for i in ordered_roster if i not in no]
                if len(free) < rules.inspectors_per_visit:
                    unstaffed.append(entry)
                    continue
                stream = Stream(seed, f"inspectors:{merchant_id}")
                entry["inspectors"] = pick(stream, free, rules.inspectors_per_visit)
            inspections.append(entry)
    inspections.sort(key=lambda e: e["merchant_id"])
    unstaffed.sort(key=lambda e: e["merchant_id"])
    return {"inspections": inspections, "unstaffed": unstaffed}
