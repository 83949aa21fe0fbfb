"""The ledger: batched appends against raw sqlite3, the same appends on PostgreSQL beside
SQLite's (a throwaway server from devenv/postgres.py, the schema migrated as in production),
proofs at 1M entries, full verify of 1M."""

from __future__ import annotations

import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.latency import percentile
from ledger import Ledger, merkle
from ledger.entry import build_entry, summarise
from ledger.note import Checkpoint, Signer, sign_note

BATCH = 500
APPEND_COUNT = 100_000
PG_APPEND_COUNT = 20_000
"""Fewer on PostgreSQL: psycopg runs pure Python there (as under eventlet in the service)."""
BIG = 1_000_000
ORIGIN = "bench.prepaid-trust.local/ledger"


def summaries(count: int) -> list[tuple[str, dict]]:
    out = []
    for i in range(count):
        event_id = str(uuid.UUID(int=i))
        out.append(
            (
                event_id,
                summarise(
                    {
                        "event_id": event_id,
                        "type": "escrow.RedemptionConfirmed.v1",
                        "source": "escrow",
                        "stream": f"card-{i % 5000}",
                        "version": i // 5000 + 1,
                        "position": i + 1,
                        "recorded_at": "2026-11-22T09:00:00+00:00",
                        "data": {
                            "card_id": f"card-{i % 5000}",
                            "merchant_id": f"m-{i % 300}",
                            "consumer_id": f"c-{i % 20000}",
                            "amount": 1000 + i % 9000,
                        },
                    }
                ),
            )
        )
    return out


def _signer(signer: Signer):
    return lambda size, root, _prove: sign_note(Checkpoint(ORIGIN, size, root).body(), signer)


def notarise(path: Path, items, signer: Signer) -> tuple[float, Ledger]:
    """The service's whole write path: entry built at its index, chained, signed per batch."""
    log = Ledger.open(path)
    started = time.perf_counter()
    for start in range(0, len(items), BATCH):
        log.append_batch(items[start : start + BATCH], build=build_entry, sign=_signer(signer))
    return len(items) / (time.perf_counter() - started), log


def ledger_appends(path: str | Path, entries: list[bytes], signer: Signer) -> float:
    """The Merkle log itself, bytes in: leaf hashes, tree nodes, one signed checkpoint a batch."""
    log = Ledger.open(path)
    started = time.perf_counter()
    for start in range(0, len(entries), BATCH):
        log.append_batch(
            [
                (str(uuid.UUID(int=start + i)), entry)
                for i, entry in enumerate(entries[start : start + BATCH])
            ],
            sign=_signer(signer),
        )
    elapsed = time.perf_counter() - started
    log.close()
    return len(entries) / elapsed


def raw_inserts(path: Path, entries: list[bytes]) -> float:
    """The same entry bytes, indexed by position and event id, one transaction per batch."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE entries (idx INTEGER PRIMARY KEY, event_id TEXT UNIQUE, entry BLOB)")
    started = time.perf_counter()
    for start in range(0, len(entries), BATCH):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO entries VALUES (?, ?, ?)",
            [
                (start + i, str(uuid.UUID(int=start + i)), entry)
                for i, entry in enumerate(entries[start : start + BATCH])
            ],
        )
        conn.execute("COMMIT")
    conn.close()
    return len(entries) / (time.perf_counter() - started)


def postgres_appends(
    entries: list[bytes], signer: Signer, sqlite_path: Path
) -> tuple[float, float]:
    """The same signed appends on a migrated PostgreSQL schema and on a SQLite file, one after
    the other in this run: (PostgreSQL, SQLite) entries/s."""
    from devenv.postgres import PostgresCluster
    from platformrun.migrate import migrate

    # Its own directory under /tmp: the server runs as `postgres`, which must reach it.
    base = Path(tempfile.mkdtemp(prefix="bench-ledger-pg-"))
    cluster = PostgresCluster(base).start()
    try:
        dsn = dict(item.split("=", 1) for item in cluster.create_database("ledger_bench").split())
        url = f"postgresql://{dsn['user']}@{dsn['host']}:{dsn['port']}/{dsn['dbname']}"
        migrate(url, schemas=["ledger"], log=lambda _: None)
        on_sqlite = ledger_appends(sqlite_path, entries, signer)
        on_postgres = ledger_appends(f"{url}?schema=ledger", entries, signer)
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    return on_postgres, on_sqlite


def proof_times(log: Ledger, samples: int = 2000) -> tuple[float, float]:
    size = log.size
    root = log.root()
    step = max(1, size // samples)
    times = []
    for index in range(0, size, step):
        started = time.perf_counter()
        proof = log.inclusion_proof(index, size)
        times.append(time.perf_counter() - started)
        assert merkle.verify_inclusion(log.leaf(index), index, size, proof, root)
    times.sort()
    return statistics.median(times) * 1000, percentile(times, 0.99) * 1000


def run(report) -> None:
    signer = Signer.generate(ORIGIN)
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp_name:
        tmp = Path(tmp_name)
        items = summaries(APPEND_COUNT)
        full, log = notarise(tmp / "notary.db", items, signer)
        entries = [entry for _, entry in log.entries(0, log.size)]
        log.close()
        raw = raw_inserts(tmp / "raw.db", entries)
        ours = ledger_appends(tmp / "ledger.db", entries, signer)
        report(
            f"ledger batched appends ({BATCH}/batch, signed)",
            ours,
            raw,
            "entries/s",
            target=0.5,
            baseline="raw sqlite3 inserts of the same bytes, WAL+FULL",
        )
        report(
            "  notarisation incl. building entries",
            full,
            raw,
            "entries/s",
            baseline="same raw baseline",
        )
        on_postgres, on_sqlite = postgres_appends(
            entries[:PG_APPEND_COUNT], signer, tmp / "side.db"
        )
        report(
            f"ledger batched appends on PostgreSQL ({PG_APPEND_COUNT // 1000}k, signed)",
            on_postgres,
            on_sqlite,
            "entries/s",
            baseline="the same appends on SQLite, in this run",
        )

        started = time.perf_counter()
        _, big = notarise(tmp / "big.db", summaries(BIG), signer)
        report("  building the 1M-entry ledger", time.perf_counter() - started, None, "s")
        median, p99 = proof_times(big)
        report("inclusion proof at 1M entries, median", median, None, "ms")
        report(
            "inclusion proof at 1M entries, p99",
            p99,
            None,
            "ms",
            absolute_target=2,
            lower_is_better=True,
        )
        (tmp / "keys").mkdir()
        (tmp / "keys" / "log.vkey").write_text(signer.verifier.vkey() + "\n")
        big.close()
        from ledger.verify import verify_ledger

        started = time.perf_counter()
        result = verify_ledger(tmp / "big.db", [signer.verifier])
        elapsed = time.perf_counter() - started
        assert result.ok, result
        report(
            "full verify of 1M entries",
            elapsed,
            None,
            "s",
            absolute_target=20,
            lower_is_better=True,
        )
