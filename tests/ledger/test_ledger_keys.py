"""The ledger's keys: made once (`python -m ledger keys init`), never made at start when the
ledger is shared in PostgreSQL (LEDGER_URL), and a notary refuses a ledger its key did not sign."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ledger import Ledger
from ledger.bootstrap import DEFAULT_ORIGIN, MissingLedgerKeys, build_notary, load_keys
from ledger.notary import ForeignLogKey, Notary
from ledger.note import Signer
from tests.support.harness import ROOT

UNREACHABLE_LEDGER = "postgresql://nobody@127.0.0.1:9/none?schema=ledger"
"""Never connected to: the keys are checked before the ledger is opened."""


def keys_init(keys_dir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ledger", "keys", "init", "--dir", str(keys_dir), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_with_ledger_url_missing_keys_fail_the_start_and_none_is_made(tmp_path):
    config = {"LEDGER_DIR": str(tmp_path / "ledger"), "LEDGER_URL": UNREACHABLE_LEDGER}
    for start in (load_keys, build_notary):
        with pytest.raises(MissingLedgerKeys, match="LEDGER_DIR/keys") as failed:
            start(config)
        assert str(tmp_path / "ledger" / "keys") in str(failed.value)
        assert "python -m ledger keys init" in str(failed.value)
    assert not (tmp_path / "ledger" / "keys").exists() or not any(
        (tmp_path / "ledger" / "keys").iterdir()
    )
    # A log key without the pseudonym key is refused too: no pseudonym key is made up.
    assert keys_init(tmp_path / "ledger" / "keys").returncode == 0
    (tmp_path / "ledger" / "keys" / "pseudonym.key").unlink()
    with pytest.raises(MissingLedgerKeys, match="pseudonym.key"):
        load_keys(config)
    assert not (tmp_path / "ledger" / "keys" / "pseudonym.key").exists()


def test_keys_init_makes_the_keys_once_and_a_shared_ledger_reads_them(tmp_path):
    keys_dir = tmp_path / "ledger" / "keys"
    made = keys_init(keys_dir)
    assert made.returncode == 0, made.stderr
    vkey = made.stdout.strip()
    assert vkey.startswith(DEFAULT_ORIGIN + "+")
    assert {p.name for p in keys_dir.iterdir()} == {"log.key", "log.vkey", "pseudonym.key"}
    pseudonym_key = (keys_dir / "pseudonym.key").read_bytes()
    again = keys_init(keys_dir)
    assert again.stdout.strip() == vkey  # kept, not made again
    assert (keys_dir / "pseudonym.key").read_bytes() == pseudonym_key

    keys = load_keys({"LEDGER_DIR": str(tmp_path / "ledger"), "LEDGER_URL": UNREACHABLE_LEDGER})
    assert keys.signer.verifier.vkey() == vkey
    assert keys.pseudonyms.of("m-1", "c-9") == load_keys(
        {"LEDGER_DIR": str(tmp_path / "ledger")}
    ).pseudonyms.of("m-1", "c-9")


def test_without_ledger_url_the_keys_are_made_at_first_start(tmp_path):
    keys = load_keys({"LEDGER_DIR": str(tmp_path / "ledger")})
    keys_dir = tmp_path / "ledger" / "keys"
    assert {p.name for p in keys_dir.iterdir()} == {"log.key", "log.vkey", "pseudonym.key"}
    assert load_keys({"LEDGER_DIR": str(tmp_path / "ledger")}).signer.verifier.vkey() == (
        keys.signer.verifier.vkey()
    )


def test_a_notary_refuses_a_ledger_another_log_key_signed(tmp_path):
    event = {
        "event_id": "e-1",
        "type": "escrow.RedemptionConfirmed.v1",
        "source": "escrow",
        "stream": "card-1",
        "version": 1,
        "recorded_at": "2026-11-22T09:00:00+00:00",
        "data": {"card_id": "card-1", "merchant_id": "m-1", "amount": 100},
    }
    ledger = Ledger.open(tmp_path / "ledger.db")
    own_key = Signer.generate(DEFAULT_ORIGIN)
    Notary(ledger, own_key).notarise([event])
    Notary(ledger, own_key)  # its own key: starts
    with pytest.raises(ForeignLogKey, match="size 1"):
        Notary(ledger, Signer.generate(DEFAULT_ORIGIN))  # same name, another key
    ledger.close()
