"""One suite for the ledger's storage, run on a SQLite file and on a migrated PostgreSQL schema
(used by a role that may read and write, never CREATE): the same Ledger behaviour on both."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ledger import Ledger, merchant_index, merkle
from ledger.entry import build_entry, merchant_of
from ledger.log import STALE_RETRIES, LedgerShrank, StaleTree
from ledger.note import COSIGNATURE_V1, Checkpoint, Signer, sign_note
from ledger.storage import LedgerNotMigrated
from ledger.verify import verify_ledger
from tests.support.harness import ROOT
from tests.support.ledger_events import summary

ORIGIN = "test.prepaid-trust.local/ledger"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def location(request, tmp_path) -> str:
    """Where a fresh ledger lives: a file path, or a migrated schema's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    from tests.support.migrated import migrated_url

    return migrated_url(request.getfixturevalue("pg_dsn"), "ledger")


@pytest.fixture
def log_key() -> Signer:
    return Signer.generate(ORIGIN)


def signer(log_key: Signer):
    return lambda size, root, _prove: sign_note(Checkpoint(ORIGIN, size, root).body(), log_key)


def fill(location: str, log_key: Signer, count: int = 70, batch: int = 10) -> Ledger:
    log = Ledger.open(location)
    for start in range(0, count, batch):
        log.append_batch(
            [summary(i, f"m-{i % 3}") for i in range(start, start + batch)],
            build=build_entry,
            sign=signer(log_key),
        )
    return log


def test_batches_append_in_order_and_give_the_tree_of_their_leaves(location, log_key):
    log = fill(location, log_key, count=70)
    leaves = [log.leaf(i) for i in range(70)]
    assert log.size == 70
    assert log.root() == merkle.root(leaves)
    assert log.root(37) == merkle.root(leaves[:37])
    for index, size in [(0, 1), (5, 37), (69, 70), (16, 33)]:
        proof = log.inclusion_proof(index, size)
        assert merkle.verify_inclusion(
            leaves[index], index, size, proof, merkle.root(leaves[:size])
        )
    proof = log.consistency_proof(17, 70)
    assert merkle.verify_consistency(17, 70, proof, merkle.root(leaves[:17]), log.root())
    assert [index for index, _ in log.entries(3, 6)] == [3, 4, 5]
    assert log.checkpoint_sizes() == list(range(10, 71, 10))
    log.close()


def test_a_reopened_ledger_has_the_same_tree_and_goes_on(location, log_key):
    log = fill(location, log_key, count=45, batch=9)
    root = log.root()
    log.close()
    again = Ledger.open(location)
    assert (again.size, again.root()) == (45, root)
    again.append_batch([summary(45)], build=build_entry, sign=signer(log_key))
    assert again.size == 46
    assert again.root() == merkle.root([again.leaf(i) for i in range(46)])
    again.close()


def test_an_event_id_is_appended_once(location, log_key):
    log = Ledger.open(location)
    first = log.append_batch([summary(0), summary(1), summary(0)], build=build_entry)
    assert first == [0, 1, 0]
    assert log.append_batch([summary(1), summary(2)], build=build_entry) == [1, 2]
    assert log.index_of(summary(2)[0]) == 2 and log.index_of("nope") is None
    assert log.size == 3
    log.close()


def test_a_failed_batch_leaves_nothing_behind(location, log_key):
    log = Ledger.open(location)
    log.append_batch([summary(0)], build=build_entry)

    def refuse(size, root, prove):
        raise RuntimeError("the signer is away")

    with pytest.raises(RuntimeError):
        log.append_batch([summary(1), summary(2)], build=build_entry, sign=refuse)
    assert log.size == 1 and log.index_of(summary(1)[0]) is None
    assert log.append_batch([summary(1)], build=build_entry) == [1]
    log.close()
    assert Ledger.open_readonly(location).size == 2


def test_checkpoints_carry_their_cosignatures(location, log_key):
    log = fill(location, log_key, count=30)
    log.add_cosignature(20, "bank", "line-1")
    log.add_cosignature(20, "bank", "line-2")  # a witness's newer line replaces its older one
    log.add_cosignature(20, "regulator", "line-r")
    log.add_cosignature(30, "bank", "line-b30")
    assert log.checkpoint(20).cosignatures == {"bank": "line-2", "regulator": "line-r"}
    assert log.checkpoint(20).root == log.root(20)
    assert log.latest_checkpoint().size == 30
    assert log.latest_checkpoint(["bank"]).size == 30
    assert log.latest_checkpoint(["bank", "regulator"]).size == 20
    assert log.latest_checkpoint(["nobody"]) is None
    log.save_checkpoint(25, "note-25")
    log.save_checkpoint(25, "another")  # never changed once stored
    assert log.checkpoint(25).note == "note-25"
    assert [c.size for c in log.checkpoints()] == [10, 20, 25, 30]
    log.close()


def test_the_merchant_index_pages_newest_first_and_survives_a_reopen(location, log_key):
    log = fill(location, log_key, count=40)
    m1 = [i for i in range(40) if i % 3 == 1]
    assert [i for i, _ in log.merchant_entries("m-1", limit=5)] == m1[::-1][:5]
    assert [i for i, _ in log.merchant_entries("m-1", before=20, limit=3)] == [19, 16, 13]
    assert all(merchant_of(entry) == "m-1" for _, entry in log.merchant_entries("m-1"))
    log.append_batch([summary(40, "m-1")], build=build_entry)  # index only in memory
    # The process dies here: nothing is closed, and the new entry's index row never written.
    reopened = Ledger.open(location)
    assert [i for i, _ in reopened.merchant_entries("m-1", limit=2)] == [40, m1[-1]]
    reopened.close()


def test_a_writer_behind_the_stored_ledger_reloads_and_never_reuses_an_index(location, log_key):
    first = fill(location, log_key, count=20)
    second = Ledger.open(location)  # a standby that took over
    second.append_batch([summary(i) for i in range(20, 25)], build=build_entry)
    # The first writer did not notice; its next batch goes after the second's.
    assert first.append_batch([summary(25), summary(21)], build=build_entry) == [25, 21]
    assert first.root() == merkle.root([first.leaf(i) for i in range(26)])
    first.close()
    second.close()
    report = verify_ledger(location, [log_key.verifier])
    assert report.ok and report.size == 26, report


def indexed(log: Ledger, merchant: str = "m-1") -> list[int]:
    return [index for index, _ in log.merchant_entries(merchant, limit=1000)]


def test_a_stale_writer_reloading_lists_each_entry_once(location, monkeypatch):
    monkeypatch.setattr(merchant_index, "BACKFILL_CHUNK", 7)
    first = Ledger.open(location)
    first.append_batch([summary(i) for i in range(30)], build=build_entry)  # index in memory
    second = Ledger.open(location)  # indexes those 30 entries, 7 a transaction
    second.append_batch([summary(30)], build=build_entry)
    first.append_batch([summary(31)], build=build_entry)  # behind: reloads first
    assert indexed(first) == list(range(31, -1, -1))
    assert indexed(second) == list(range(30, -1, -1))
    first.close()
    second.close()
    again = Ledger.open(location)
    assert indexed(again) == list(range(31, -1, -1)) and again.merchant_indexed() == 32
    again.close()


def test_a_lapsed_writer_reading_the_index_lists_each_entry_once(location, monkeypatch):
    monkeypatch.setattr(merchant_index, "BACKFILL_CHUNK", 7)
    first = Ledger.open(location)
    first.append_batch([summary(i) for i in range(30)], build=build_entry)  # index in memory
    second = Ledger.open(location)  # took over: indexes those 30, appends, writes its index
    second.append_batch([summary(30)], build=build_entry)
    second.close()
    assert indexed(first) == list(range(29, -1, -1))  # first still knows 30 entries
    assert first.merchant_indexed() == 31  # the written index never moves back
    first.close()
    again = Ledger.open(location)
    assert indexed(again) == list(range(30, -1, -1))
    again.close()


def test_a_writer_kept_behind_gives_up_saying_how_the_ledger_grew(location, log_key):
    first = fill(location, log_key, count=20)
    second = Ledger.open(location)
    second.append_batch([summary(i) for i in range(20, 25)], build=build_entry)
    reloads: list[int] = []
    first._reload = lambda: reloads.append(1)  # never catches up
    with pytest.raises(StaleTree, match="grew from 20 to 25 under another writer"):
        first.append_batch([summary(25)], build=build_entry)
    assert len(reloads) == STALE_RETRIES - 1
    first.close()
    second.close()


def test_a_stored_ledger_smaller_than_this_process_knows_is_an_error(location, log_key):
    log = fill(location, log_key, count=20)
    log._db.execute("DELETE FROM entries WHERE idx >= 15")
    with pytest.raises(LedgerShrank, match="holds 15 entries, fewer than the 20"):
        log.append_batch([summary(20)], build=build_entry)
    log.close()


def test_verify_passes_an_honest_ledger_and_names_a_tampered_entry(location, log_key, tmp_path):
    witness = Signer.generate("bank.test/witness", COSIGNATURE_V1)
    log = fill(location, log_key, count=50)
    body = Checkpoint(ORIGIN, 50, log.root(50)).body()
    log.add_cosignature(50, witness.name, witness.sign_line(body, timestamp=1_800_000_000))
    report = verify_ledger(location, [log_key.verifier, witness.verifier])
    assert report.ok and report.size == 50 and report.checkpoints_checked == 5
    assert report.cosignatures_checked == 1

    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "log.vkey").write_text(log_key.verifier.vkey() + "\n")
    done = run_verify(location, "--keys-dir", str(keys))
    assert done.returncode == 0, done.stderr
    assert "ok: 50 entries" in done.stdout

    log._db.execute("UPDATE entries SET entry = ? WHERE idx = ?", (log.entry(33) + b" ", 33))
    log.close()
    report = verify_ledger(location, [log_key.verifier])
    assert not report.ok and report.first_bad_index == 33
    assert run_verify(location, "--keys-dir", str(keys)).returncode == 1


def run_verify(location: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ledger", "verify", location, "--quiet", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.postgres
def test_a_schema_never_migrated_is_refused_not_created(pg_dsn):
    from tests.support.gateway_state import postgres_url

    url = postgres_url(pg_dsn, schema="ledger")
    with pytest.raises(LedgerNotMigrated, match="platformrun.migrate"):
        Ledger.open(url)
    done = run_verify(url, "--keys-dir", str(Path(ROOT)))
    assert done.returncode == 2 and "LedgerNotMigrated" in done.stderr


@pytest.mark.postgres
def test_verify_of_a_url_needs_its_keys_named(pg_dsn):
    from tests.support.migrated import migrated_url

    done = run_verify(migrated_url(pg_dsn, "ledger"))
    assert done.returncode == 2 and "--keys-dir" in done.stderr


@pytest.mark.postgres
def test_a_ledger_in_postgres_uses_at_most_its_pool_size_of_connections(pg_dsn):
    from concurrent.futures import ThreadPoolExecutor

    from ledger.storage import open_ledger_db
    from tests.support.migrated import migrated_url

    db = open_ledger_db(migrated_url(pg_dsn, "ledger"), pool_size=2)
    with ThreadPoolExecutor(6) as callers:
        backends = list(
            callers.map(lambda _: db.rows("SELECT pg_backend_pid(), pg_sleep(0.2)")[0][0], range(6))
        )
    db.close()
    assert len(set(backends)) == 2  # six callers at once, two connections: the others waited
