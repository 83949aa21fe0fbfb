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
Decoding stays with the standard library: orjson reads faster, but reads an integer beyond
64 bits as a float without a word, and the check for one costs what it saves.
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


def encode_json(value: Any) -> str:
    try:
        text = orjson.dumps(value, option=_OPTIONS)
    except TypeError:
        return _ENCODER.encode(value)
    if b"0.0000" in text or (b"e-" in text and _SHORT_EXPONENT.search(text)):
        return _ENCODER.encode(value)
    return text.decode()


def decode_json(text: str | bytes) -> Any:
    return json.loads(text)
