"""The notary's receipts verify offline with the standalone script, and forgeries do not."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid

import pytest

from ledger import Ledger
from ledger.notary import Notary, WitnessEndpoint
from ledger.note import COSIGNATURE_V1, Signer
from ledger.witness import Submission, Witness
from tests.support.harness import ROOT

ORIGIN = "test.prepaid-trust.local/ledger"
SCRIPT = ROOT / "ledger" / "verify_receipt.py"


class InProcessWitness:
    """The witness's own logic, without HTTP, behind the client interface the notary uses."""

    def __init__(self, witness: Witness):
        self.witness = witness
        self.size = 0

    def cosign(self, ledger, size, note):
        proof = ledger.consistency_proof(self.size, size) if 0 < self.size < size else []
        line = self.witness.add_checkpoint(Submission(self.size, proof, note))
        self.size = size
        return line


def payload(i: int) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "escrow.RefundPaid.v1",
        "source": "escrow",
        "stream": f"card-{i}",
        "version": 3,
        "position": i,
        "recorded_at": "2026-11-22T09:00:00+00:00",
        "data": {"card_id": f"card-{i}", "consumer_id": "c-1", "refund_amount": 500 + i},
    }


@pytest.fixture
def setup(tmp_path):
    log_key = Signer.generate(ORIGIN)
    witnesses = {
        party: Signer.generate(f"{party}.test/witness", COSIGNATURE_V1)
        for party in ("bank", "regulator")
    }
    endpoints = [
        WitnessEndpoint(
            key.name,
            InProcessWitness(Witness(key, {ORIGIN: log_key.verifier}, tmp_path / f"{party}.db")),
        )
        for party, key in witnesses.items()
    ]
    notary = Notary(Ledger.open(tmp_path / "ledger.db"), log_key, witnesses=endpoints)
    events = [payload(i) for i in range(23)]
    for start in range(0, 23, 5):
        notary.notarise(events[start : start + 5])
        assert notary.cosign_latest() == {}
    vkeys = [log_key.verifier.vkey()] + [w.verifier.vkey() for w in witnesses.values()]
    return notary, events, vkeys, tmp_path


def run(receipt: dict, vkeys: list[str], tmp_path, *extra) -> subprocess.CompletedProcess:
    path = tmp_path / f"receipt-{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(receipt))
    args = [sys.executable, str(SCRIPT), str(path), *extra]
    for vkey in vkeys:
        args += ["--vkey", vkey]
    # No project on the path: the script must stand alone.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True)


def test_a_real_receipt_verifies(setup):
    notary, events, vkeys, tmp_path = setup
    receipt = notary.receipt(events[17]["event_id"])
    receipt.pop("parties"), receipt.pop("consumer_is_party")
    result = run(receipt, vkeys, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert events[17]["event_id"] in result.stdout
    assert receipt["tree_size"] == 23 and len(receipt["checkpoint"]["signatures"]) == 3


def _flip_hex(value: str) -> str:
    return ("1" if value[0] != "1" else "2") + value[1:]


@pytest.mark.parametrize(
    "forge",
    [
        lambda r, v: r.update(
            entry=base64.b64encode(
                base64.b64decode(r["entry"]).replace(b'refund_amount":5', b'refund_amount":9')
            ).decode()
        ),
        lambda r, v: r["inclusion_proof"].__setitem__(0, _flip_hex(r["inclusion_proof"][0])),
        lambda r, v: r.update(index=r["index"] + 1),
        lambda r, v: r.update(tree_size=r["tree_size"] - 1),
        lambda r, v: r["checkpoint"].update(root_hash=_flip_hex(r["checkpoint"]["root_hash"])),
        lambda r, v: v.__setitem__(0, Signer.generate(ORIGIN).verifier.vkey()),
        lambda r, v: r["checkpoint"].update(
            note="\n".join(
                line for line in r["checkpoint"]["note"].split("\n") if "regulator" not in line
            )
        ),
    ],
)
def test_forged_receipts_are_invalid(setup, forge):
    notary, events, vkeys, tmp_path = setup
    receipt = notary.receipt(events[4]["event_id"])
    receipt.pop("parties"), receipt.pop("consumer_is_party")
    vkeys = list(vkeys)
    forge(receipt, vkeys)
    result = run(receipt, vkeys, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("INVALID")


def test_script_imports_nothing_of_the_project():
    source = SCRIPT.read_text()
    assert "import ledger" not in source and "from ledger" not in source
    assert len(source.splitlines()) < 200
