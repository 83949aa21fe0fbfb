"""The job lock port's two adapters: one holder at a time, handed over when the holder goes."""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg
import pytest

from services.job_lock import FileJobLocks, PgLeaseLocks, holder_id, open_job_locks


def test_a_file_lock_has_one_holder_and_passes_on_release(tmp_path):
    first, second = FileJobLocks(tmp_path), FileJobLocks(tmp_path)
    assert first.acquire("escrow.sweep")
    assert not second.acquire("escrow.sweep"), "flock is per open file, even in one process"
    assert second.acquire("risk.sweep"), "another job's lock is its own"
    assert first.renew("escrow.sweep") and not second.renew("escrow.sweep")
    first.release("escrow.sweep")
    assert second.acquire("escrow.sweep")
    first.close()
    second.close()


def test_store_urls_choose_the_adapter(tmp_path):
    locks = open_job_locks(f"sqlite:///{tmp_path}/escrow.db")
    assert isinstance(locks, FileJobLocks) and locks.directory == tmp_path / "escrow.db.jobs"
    with pytest.raises(ValueError, match="esdb"):
        open_job_locks("esdb://localhost:2113")


@pytest.mark.postgres
def test_a_lease_row_has_one_holder_and_expires_when_not_renewed(pg_dsn):
    a = PgLeaseLocks(pg_dsn, schema="escrow", ttl=1.0, holder="host:1")
    b = PgLeaseLocks(pg_dsn, schema="escrow", ttl=1.0, holder="host:2")
    assert a.acquire("escrow.sweep")
    assert not b.acquire("escrow.sweep")
    assert a.acquire("escrow.sweep"), "its holder takes it again (and keeps its token)"
    assert a.tokens["escrow.sweep"] == 1
    time.sleep(0.5)
    assert a.renew("escrow.sweep") and not b.renew("escrow.sweep")
    time.sleep(0.7)
    assert not b.acquire("escrow.sweep"), "renewed: still a's"
    a.close()  # a dies: it renews no more
    time.sleep(1.2)
    assert b.acquire("escrow.sweep"), "expired: b takes over"
    assert b.tokens["escrow.sweep"] == 2, "a new holder gets the next fencing token"
    assert not a.renew("escrow.sweep"), "a lost lease is not renewed"
    b.release("escrow.sweep")
    assert a.acquire("escrow.sweep"), "released: free at once"
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute("SELECT job, holder, token FROM escrow.job_leases").fetchall()
    assert rows == [("escrow.sweep", "host:1", 3)]
    a.close()
    b.close()


def test_a_job_done_is_held_for_the_rest_of_its_interval_and_an_unreachable_renewal_raises(
    pg_dsn,
):
    a = PgLeaseLocks(pg_dsn, schema="risk", ttl=5.0, holder="host:1")
    b = PgLeaseLocks(pg_dsn, schema="risk", ttl=5.0, holder="host:2")
    assert a.acquire("risk.sweep")
    a.release("risk.sweep", hold_for=1.0)  # done early: the interval is not over
    assert not b.acquire("risk.sweep"), "another replica waits for the next interval"
    time.sleep(1.2)
    assert b.acquire("risk.sweep")
    b.close()
    unreachable = PgLeaseLocks(pg_dsn, schema="risk", ttl=5.0, holder="host:3")
    unreachable.dsn = "postgresql://nobody@127.0.0.1:1/none"  # its database goes away
    unreachable.close()
    with pytest.raises(psycopg.OperationalError):
        unreachable.renew("risk.sweep")  # cannot ask: not the same as "lost"
    a.close()


def test_holders_differ_between_processes_even_with_one_host_name_and_pid():
    """Containers with a fixed host name all run as pid 1: a random part tells them apart."""
    assert holder_id() == holder_id()
    code = "from services.job_lock import holder_id; print(holder_id().rsplit(':', 1)[1])"
    parts = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
        for _ in range(2)
    }
    assert len(parts) == 2 and all(len(part.strip()) == 12 for part in parts)


@pytest.mark.broker
@pytest.mark.slow
def test_every_scheduled_job_runs_under_its_lock(tmp_path, amqp_uri):
    """Escrow's, risk's and inspection's timers on SQLite stores: each run takes the job's
    file lock beside the store, and a run waits while another process holds it."""
    from tests.support.harness import start_service, stop, wait_until

    logging = {
        "version": 1,
        "formatters": {"t": {"format": "%(name)s %(message)s"}},
        "handlers": {"out": {"class": "logging.StreamHandler", "formatter": "t"}},
        "loggers": {"services.scheduled": {"level": "DEBUG", "handlers": ["out"]}},
    }
    names = {"escrow": "Escrow", "risk": "Risk", "inspection": "Inspection"}
    held = FileJobLocks(tmp_path / "risk.db.jobs")
    assert held.acquire("risk.sweep"), "risk's sweep is held here, as by another replica"
    intervals = {f"{name}.sweep": 0.3 for name in names}
    processes = [
        start_service(name, tmp_path, amqp_uri, SCHEDULE_INTERVALS=intervals, LOGGING=logging)
        for name in names
    ]

    def log(name: str) -> str:
        return (tmp_path / f"service:{names[name]}Service.log").read_text()

    try:
        for name in ("escrow", "inspection"):
            wait_until(
                lambda name=name: log(name).count(f"job {name}.sweep: done") >= 2,
                timeout=120,
                what=f"{name}'s sweep running",
            )
            assert (tmp_path / f"{name}.db.jobs" / f"{name}.sweep.lock").exists()
        wait_until(
            lambda: log("risk").count("job risk.sweep runs elsewhere") >= 3,
            timeout=60,
            what="risk's sweep skipped while held",
        )
        assert "job risk.sweep: lock taken" not in log("risk")
        held.release("risk.sweep")
        wait_until(
            lambda: "job risk.sweep: lock taken" in log("risk"),
            timeout=30,
            what="risk's sweep once free",
        )
    finally:
        held.close()
        for process in processes:
            stop(process)


@pytest.mark.postgres
def test_replicas_starting_at_once_on_a_schema_never_migrated_all_get_the_lease_table(pg_dsn):
    """Several replicas making the table at the same moment: CREATE … IF NOT EXISTS alone
    races in PostgreSQL's catalogue (a unique violation on pg_type), and the loser's service
    failed to start; each must end up with the one table."""
    import threading

    barrier, made, failed = threading.Barrier(8), [], []

    def start(n: int) -> None:
        barrier.wait()
        try:
            made.append(PgLeaseLocks(pg_dsn, schema="racing", ttl=5.0, holder=f"host:{n}"))
        except Exception as exc:  # noqa: BLE001 - the failure is what the test counts
            failed.append(exc)

    for _round in range(5):
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS racing CASCADE")
        threads = [threading.Thread(target=start, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failed == []
    assert len(made) == 40
    assert made[-1].acquire("job") and not made[-2].acquire("job")
