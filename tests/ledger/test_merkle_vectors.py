"""The transparency-dev RFC 6962 vectors: every `wantErr: false` accepted, every `true` refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ledger import merkle

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "rfc6962"


def _cases(kind: str):
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [pytest.param(json.loads(f.read_text()), id=str(f.relative_to(VECTORS))) for f in files]


def _b64(value):
    return base64.b64decode(value or "")


def test_all_196_vectors_are_present():
    assert len(list(VECTORS.rglob("*.json"))) == 196


@pytest.mark.parametrize("case", _cases("inclusion"))
def test_inclusion_vector(case):
    ok = merkle.verify_inclusion(
        _b64(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root"]),
    )
    assert ok is (not case["wantErr"]), case["desc"]


@pytest.mark.parametrize("case", _cases("consistency"))
def test_consistency_vector(case):
    ok = merkle.verify_consistency(
        case["size1"],
        case["size2"],
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root1"]),
        _b64(case["root2"]),
    )
    assert ok is (not case["wantErr"]), case["desc"]
