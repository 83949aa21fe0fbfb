"""The stores' JSON codec writes exactly the text the standard library wrote before it, for
any document, and reads every text ever stored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventstore.jsoncodec import decode_json, encode_json


def stdlib(value) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(), documents, max_size=6))
def test_any_document_is_written_as_the_standard_library_wrote_it(doc):
    text = encode_json(doc)
    assert text == stdlib(doc)
    assert decode_json(text) == doc
    assert decode_json(text.encode()) == doc


class Level(IntEnum):
    HIGH = 2


@pytest.mark.parametrize(
    "doc",
    [
        {"tiny": 9.420745638861063e-05, "neg": -1e-05, "big": 1e16, "huge": 1.5e300},
        {"n": 2**64, "m": -(2**63) - 1},
        {1: "int key", 2: "x"},
        {"level": Level.HIGH, "line": "\u2028\u00e9\U0001f600", "ctl": '\x00\x1f"\\/'},
        {"text": "0.00001 in a string"},
    ],
)
def test_the_values_orjson_writes_otherwise_take_the_standard_librarys_way(doc):
    assert encode_json(doc) == stdlib(doc)


def test_what_the_standard_library_refuses_is_still_refused():
    @dataclass
    class Point:
        x: int

    for doc in ({"at": datetime(2026, 1, 1, tzinfo=UTC)}, {"p": Point(1)}):
        with pytest.raises(TypeError):
            encode_json(doc)


def test_texts_orjson_cannot_read_are_read_as_before():
    assert decode_json('{"a":NaN,"b":123456789012345678901234567890}')["b"] == (
        123456789012345678901234567890
    )
