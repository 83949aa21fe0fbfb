"""Canonical ledger entries: versioned, deterministic bytes for one integration event.

The bytes are JSON with sorted keys, no insignificant white space, UTF-8 and no floats, so
any party can rebuild them. An entry holds:
* `v`: the encoding version (1);
* `index` and `prev`: its place in the log and the previous entry's leaf hash (hex; "" for
  the first), which chain the entries so `verify` can name the first bad index;
* `event`: the source event's id, type, service, stream, version and recorded time;
* `amounts`: every integer money field of the event, in fen (`amount`, `price`, `bonus`, and
  fields ending in `_amount`, `_price` or `_fen`);
* `parties`: every `..._id` field, all pseudonymous ids; a consumer's id is replaced by a
  pseudonym per merchant (`Pseudonyms`), so two merchants holding receipts of the same
  consumer cannot link them;
* `data_hash`: SHA-256 of the event data's canonical JSON, so a holder of the event can show
  the entry is its own;
* `personal_hash`: SHA-256 of the personal fields (named `..._encrypted`, or `personal`), if
  any. Personal data reaches the ledger only as this hash, never in plaintext.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Any

import orjson

ENTRY_VERSION = 1
MONEY_NAMES = frozenset({"amount", "price", "bonus"})
MONEY_SUFFIXES = ("_amount", "_price", "_fen")


class EntryError(ValueError):
    """A value that has no canonical encoding (a float, a non-string key) or a bad entry."""


def _check(value) -> None:
    # Iterative, type-exact, and only containers go on the stack: this runs on every entry
    # the single writer appends.
    stack: list[Any] = [[value]]
    while stack:
        item = stack.pop()
        children = item.values() if type(item) is dict else item
        if type(item) is dict and any(type(key) is not str for key in item):
            raise EntryError(f"non-string key in {item!r}")
        for child in children:
            kind = type(child)
            if kind is dict or kind is list or kind is tuple:
                stack.append(child)
            elif kind is float:
                raise EntryError(f"float {child!r}: money and counts must be integers")


def canonical(value) -> bytes:
    _check(value)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def _sha256(value) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def _is_money(name: str, value) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and (name in MONEY_NAMES or name.endswith(MONEY_SUFFIXES))
    )


def _is_personal(name: str) -> bool:
    return name == "personal" or name.endswith("_encrypted")


CONSUMER_FIELD = "consumer_id"


class Pseudonyms:
    """A consumer's id as each merchant's receipts show it: HMAC-SHA256 under a ledger-side
    key of (merchant id, consumer id). Stable, so the ledger can tell a consumer which entries
    are theirs; different per merchant and unguessable without the key, so merchants comparing
    receipts cannot link one consumer across shops."""

    PREFIX = "cp1-"

    def __init__(self, key: bytes):
        if len(key) < 32:
            raise ValueError("a pseudonym key has at least 32 bytes")
        self._key = key

    def of(self, merchant_id: str, consumer_id: str) -> str:
        message = json.dumps([merchant_id, consumer_id], ensure_ascii=False).encode()
        return self.PREFIX + hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]


def summarise(event: dict, pseudonym: Callable[[str, str], str] | None = None) -> dict:
    """The entry body for an integration event payload (see messaging.wire.IntegrationEvent).
    `pseudonym(merchant_id, consumer_id)` (Pseudonyms.of) replaces a consumer's id in the
    parties; without it the id is kept as it is (tests and benchmarks of the tree alone)."""
    data = event["data"]
    personal = {k: v for k, v in data.items() if _is_personal(k)}
    parties = {
        k: v
        for k, v in data.items()
        if k.endswith("_id") and isinstance(v, str) and not _is_personal(k)
    }
    if pseudonym is not None and CONSUMER_FIELD in parties:
        parties[CONSUMER_FIELD] = pseudonym(
            str(data.get("merchant_id") or ""), parties[CONSUMER_FIELD]
        )
    summary = {
        "event": {
            "id": event["event_id"],
            "type": event["type"],
            "service": event["source"],
            "stream": event["stream"],
            "version": event["version"],
            "recorded_at": event["recorded_at"],
        },
        "amounts": {k: v for k, v in data.items() if _is_money(k, v)},
        "parties": parties,
        "data_hash": _sha256(data),
    }
    if personal:
        summary["personal_hash"] = _sha256(personal)
    return summary


def build_entry(index: int, previous_leaf: bytes, summary: dict) -> bytes:
    return canonical({"v": ENTRY_VERSION, "index": index, "prev": previous_leaf.hex(), **summary})


_V1_END = b',"v":1}'
_PARTIES_MERCHANT = re.compile(rb'"parties":\{(?:"[^"\\]+":"[^"\\]*",)*?"merchant_id":"([^"\\]+)"')
"""In canonical bytes (sorted keys) the one `"parties":{` is the parties object's start, as a
quote inside a string is always escaped; the merchant is one of its plain string pairs."""


def merchant_of(entry: bytes | dict) -> str | None:
    """The merchant an entry's parties name, for the log's merchant index: from the summary
    an entry is built from (`summarise`), or from the entry's bytes; None for an entry naming
    none and for anything that is not a v1 entry. Runs on every append of bytes, so the
    parties are matched in the bytes (half orjson's time, a fifth of the standard library's);
    a value with an escape, or no match, is read with orjson. Entries are not checked in
    full here: `parse_entry` does that, for readers."""
    if isinstance(entry, dict):
        parties = entry.get("parties")
    else:
        if not (entry.startswith(b"{") and entry.endswith(_V1_END)):
            return None
        if (found := _PARTIES_MERCHANT.search(entry)) is not None:
            return found.group(1).decode()
        try:
            parsed = orjson.loads(entry)
        except orjson.JSONDecodeError:
            return None
        parties = parsed.get("parties") if type(parsed) is dict else None
    merchant = parties.get("merchant_id") if type(parties) is dict else None
    return merchant if type(merchant) is str and merchant else None


def parse_entry(entry: bytes) -> dict:
    try:
        parsed = json.loads(entry)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EntryError(f"entry is not JSON: {exc}") from exc
    if not isinstance(parsed, dict) or parsed.get("v") != ENTRY_VERSION:
        raise EntryError("entry is not a version 1 ledger entry")
    if canonical(parsed) != entry:
        raise EntryError("entry bytes are not canonical")
    return parsed
