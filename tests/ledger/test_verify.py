"""`python -m ledger verify` catches every tampering of a real ledger file, at the right index."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from ledger import Ledger, merkle
from ledger.entry import build_entry
from ledger.note import COSIGNATURE_V1, Checkpoint, Signer, sign_note
from ledger.verify import verify_ledger
from tests.support.harness import ROOT
from tests.support.ledger_events import summary

ORIGIN = "test.prepaid-trust.local/ledger"
COUNT, BATCH = 100, 10


@pytest.fixture
def keys():
    return Signer.generate(ORIGIN), Signer.generate("bank.test/witness", COSIGNATURE_V1)


@pytest.fixture
def ledger_file(tmp_path, keys):
    log_key, witness = keys
    path = tmp_path / "ledger.db"
    log = Ledger.open(path)
    sign = lambda size, root, _prove: sign_note(Checkpoint(ORIGIN, size, root).body(), log_key)  # noqa: E731
    for start in range(0, COUNT, BATCH):
        log.append_batch(
            [summary(i) for i in range(start, start + BATCH)], build=build_entry, sign=sign
        )
        size = start + BATCH
        log.add_cosignature(
            size,
            witness.name,
            witness.sign_line(
                Checkpoint(ORIGIN, size, log.root(size)).body(), timestamp=1_800_000_000
            ),
        )
    log.close()
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "log.vkey").write_text(log_key.verifier.vkey() + "\n")
    (tmp_path / "keys" / "bank.vkey").write_text(witness.verifier.vkey() + "\n")
    return path


def run_verify(path):
    return subprocess.run(
        [sys.executable, "-m", "ledger", "verify", str(path), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def rows(path):
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT idx, event_id, entry, leaf FROM entries ORDER BY idx"
        ).fetchall()


def rewrite(path, new_rows, from_index=0):
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM entries WHERE idx >= ?", (from_index,))
        conn.executemany("INSERT INTO entries VALUES (?, ?, ?, ?)", new_rows)


def flip(entry: bytes, at: int = 40) -> bytes:
    return entry[:at] + bytes([entry[at] ^ 1]) + entry[at + 1 :]


def test_clean_ledger_verifies(ledger_file, keys):
    result = run_verify(ledger_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ok: {COUNT} entries" in result.stdout
    report = verify_ledger(ledger_file, [k.verifier for k in keys])
    assert report.ok and report.checkpoints_checked == COUNT // BATCH
    assert report.cosignatures_checked == COUNT // BATCH


def _flip_entry(path):
    idx, event_id, entry, leaf = rows(path)[37]
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE entries SET entry = ? WHERE idx = 37", (flip(entry),))


def _flip_entry_and_leaf(path):
    entry = flip(rows(path)[37][2])
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE entries SET entry = ?, leaf = ? WHERE idx = 37",
            (entry, merkle.leaf_hash(entry)),
        )


def _delete(path):
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM entries WHERE idx = 42")


def _delete_and_renumber(path):
    kept = [r for r in rows(path) if r[0] != 42]
    rewrite(path, [(i, *r[1:]) for i, r in enumerate(kept)])


def _insert(path):
    """An entry slipped in at 55 that names its place and chains correctly."""
    old = rows(path)
    event_id, body = summary(55, tag="x")
    forged = build_entry(55, bytes(old[54][3]), body)
    new = old[:55] + [(55, event_id, forged, merkle.leaf_hash(forged))] + old[55:]
    rewrite(path, [(i, *r[1:]) for i, r in enumerate(new)])


def _swap(path):
    old = rows(path)
    old[23], old[61] = old[61], old[23]
    rewrite(path, [(i, *r[1:]) for i, r in enumerate(old)])


def _truncate(path):
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM entries WHERE idx >= 95")


def _rewrite_tail(path):
    """From 60 on, new entries with recomputed leaves, chain and tree nodes: self-consistent."""
    old = rows(path)
    previous = bytes(old[59][3])
    new = []
    for i in range(60, COUNT):
        event_id, body = summary(i, tag="forged")
        entry = build_entry(i, previous, body)
        previous = merkle.leaf_hash(entry)
        new.append((i, event_id, entry, previous))
    rewrite(path, new, from_index=60)
    log = Ledger.open(":memory:")
    log.append_batch([bytes(r[2]) for r in old[:60]] + [r[2] for r in new])
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM nodes")
        conn.executemany(
            "INSERT INTO nodes VALUES (?, ?, ?)",
            log._db.rows("SELECT level, idx, hash FROM nodes"),
        )


def _forge_checkpoint(path):
    stranger = Signer.generate(ORIGIN)
    with sqlite3.connect(path) as conn:
        root = conn.execute("SELECT root FROM checkpoints WHERE size = 50").fetchone()[0]
        conn.execute(
            "UPDATE checkpoints SET note = ? WHERE size = 50",
            (sign_note(Checkpoint(ORIGIN, 50, root).body(), stranger),),
        )


def _corrupt_cosignature(path):
    with sqlite3.connect(path) as conn:
        line = conn.execute("SELECT line FROM cosignatures WHERE size = 70").fetchone()[0]
        bad = line[:-6] + ("AAAA==" if not line.endswith("AAAA==") else "BBBB==")
        conn.execute("UPDATE cosignatures SET line = ? WHERE size = 70", (bad,))


@pytest.mark.parametrize(
    "tamper, first_bad",
    [
        (_flip_entry, 37),
        (_flip_entry_and_leaf, 37),
        (_delete, 42),
        (_delete_and_renumber, 42),
        (_insert, 55),
        (_swap, 23),
        (_truncate, 95),
        (_rewrite_tail, 60),
        (_forge_checkpoint, 40),
        (_corrupt_cosignature, 60),
    ],
)
def test_every_tampering_is_caught_at_its_first_bad_index(ledger_file, tamper, first_bad):
    tamper(ledger_file)
    result = run_verify(ledger_file)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith(f"first bad index {first_bad}:"), result.stdout


def test_rewritten_history_is_refused_by_a_witness(ledger_file, keys, tmp_path):
    from ledger.witness import Witness, create_witness_app

    log_key, _ = keys
    honest = Ledger.open(ledger_file)
    witness = Witness(
        Signer.generate("regulator.test/witness", COSIGNATURE_V1),
        {ORIGIN: log_key.verifier},
        tmp_path / "w.db",
    )
    client = create_witness_app(witness).test_client()
    note = sign_note(Checkpoint(ORIGIN, COUNT, honest.root()).body(), log_key)
    assert client.post("/add-checkpoint", data=f"old 0\n\n{note}").status_code == 200
    honest.close()
    _rewrite_tail(ledger_file)
    forged = Ledger.open(ledger_file)
    forged_note = sign_note(Checkpoint(ORIGIN, COUNT, forged.root()).body(), log_key)
    assert client.post("/add-checkpoint", data=f"old {COUNT}\n\n{forged_note}").status_code == 409


def test_unusable_input_exits_2(tmp_path, ledger_file):
    assert run_verify(tmp_path / "missing.db").returncode == 2
    (ledger_file.parent / "keys" / "log.vkey").unlink()
    assert run_verify(ledger_file).returncode == 2
