"""The stores' JSON: compact, keys sorted, non-ASCII as itself, the text the stores have
always written (`json.dumps(value, separators=(",", ":"), sort_keys=True,
ensure_ascii=False)`), byte for byte, made by orjson where it writes the same, several times
faster than the standard library on the small documents the views hold.

orjson writes a few values otherwise or not at all; those documents go to the standard
library, so the text never differs:
* a float from 1e-10 to 1e-4 in magnitude (orjson writes 0.0000942 and 1.5e-9, Python
  9.42e-05 and 1.5e-09): found by "0.0000" or a one-digit negative exponent in orjson's
  text (a string holding such text goes the slow way too, harmlessly);
* an integer beyond 64 bits, a non-string key, a lone surrogate, a subclass of str, int,
  dict or list, a dataclass or a datetime: orjson refuses them here (the passthrough
  options), and the standard library encodes them as before or raises as before.
NaN and infinity, which the standard library writes as NaN and Infinity (not JSON, refused
by PostgreSQL's jsonb), orjson writes as null: no document of the platform holds one (money
is integer fen, indicators are integers).
Decoding reads with orjson, and with the standard library what orjson refuses (NaN) or
would read otherwise: orjson reads an integer beyond 64 bits as a float, so a text with a run
of 19 digits or more (an integer that may not fit) is read by the standard library; every
text ever stored reads as before.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False)
_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
_SHORT_EXPONENT = re.compile(rb"0\.0000|e-[0-9](?![0-9])")
_LONG_NUMBER = re.compile(rb"[0-9]{19}")
_LONG_NUMBER_TEXT = re.compile(r"[0-9]{19}")


def encode_json(value: Any) -> str:
    try:
        text = orjson.dumps(value, option=_OPTIONS)
    except TypeError:
        return _ENCODER.encode(value)
    if _SHORT_EXPONENT.search(text):
        return _ENCODER.encode(value)
    return text.decode()


def decode_json(text: str | bytes) -> Any:
    long_number = _LONG_NUMBER if isinstance(text, bytes) else _LONG_NUMBER_TEXT
    if long_number.search(text):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
