"""`make run-cluster`'s ledger replicas (platformrun/cluster.py): entries and writer lease in
the migrated schema `ledger`, used by the runtime role that may not CREATE, and each replica's
LEDGER_DIR a copy of the keys only. (tests/platform/test_cluster.py runs the fail-over.)"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from devenv.postgres import PostgresCluster
from ledger.log import Ledger
from platformrun.cluster import ledger_config, ledger_dir, ledger_keys, prepare_database
from services.job_lock import PgLeaseLocks, open_job_locks

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def platform_db():
    pg = PostgresCluster(Path(tempfile.mkdtemp(prefix="test-cluster-ledger-pg-"))).start()
    try:
        yield prepare_database(pg)
    finally:
        pg.stop()


def test_ledger_replicas_share_the_schema_and_the_lease_but_no_directory(tmp_path, platform_db):
    from ledger.bootstrap import DEFAULT_ORIGIN, load_or_create_log_key

    load_or_create_log_key(tmp_path / "ledger" / "keys", DEFAULT_ORIGIN)  # as witness_children
    keys = ledger_keys(tmp_path)
    configs = [ledger_config(ledger_dir(tmp_path, r, keys), platform_db, []) for r in "ab"]

    for config in configs:
        assert config["LEDGER_URL"] == config["LEDGER_LEASE_URL"]
        assert config["LEDGER_URL"].startswith("postgresql://platform_app@")
        directory = Path(config["LEDGER_DIR"])
        copied = sorted(p.relative_to(directory) for p in directory.rglob("*") if p.is_file())
        assert copied == sorted(Path("keys") / p.name for p in keys.iterdir())
        for name in ("log.key", "pseudonym.key"):
            assert (directory / "keys" / name).read_bytes() == (keys / name).read_bytes()
    assert configs[0]["LEDGER_DIR"] != configs[1]["LEDGER_DIR"]

    # Both replicas open the one ledger as the runtime role: what one appends, the other finds.
    first = Ledger.open(configs[0]["LEDGER_URL"])
    try:
        first.append(b"entry", event_id="e-1")
    finally:
        first.close()
    second = Ledger.open(configs[1]["LEDGER_URL"])
    try:
        assert second.size == 1
    finally:
        second.close()

    # One writer lease between them, in the migrated table the runtime role may not create.
    # (The replicas are two processes: two holders.)
    writer, standby = (open_job_locks(config["LEDGER_LEASE_URL"], ttl=30) for config in configs)
    assert isinstance(standby, PgLeaseLocks)
    standby.holder = "the-other-replica"
    try:
        assert writer.acquire("ledger.writer")
        assert not standby.acquire("ledger.writer")
    finally:
        writer.close()
        standby.close()
