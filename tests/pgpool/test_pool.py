"""The PostgreSQL pool every PostgreSQL user of the platform shares: connections are reused,
a broken one or one left inside a transaction is not, `max_size` bounds them, and a pool runs
concurrent callers side by side under eventlet (a subprocess: monkey-patching is for good)."""

from __future__ import annotations

import subprocess
import sys
import threading

import psycopg
import pytest

from pgpool import PostgresPool, split_url
from tests.support.gateway_state import postgres_url
from tests.support.harness import ROOT

pytestmark = pytest.mark.postgres


@pytest.fixture
def pool(pg_dsn):
    pool = PostgresPool.from_url(postgres_url(pg_dsn, schema="s1"))
    with pool.cursor() as cursor:
        cursor.execute("CREATE SCHEMA s1")
        cursor.execute("CREATE TABLE s1.t (n INTEGER)")
    yield pool
    pool.close()


def backend(pool: PostgresPool) -> int:
    with pool.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone() or (None,)
        return pid


def test_the_schema_parameter_is_the_search_path_and_connections_are_reused(pool):
    assert split_url("postgresql://u@h:1/db?schema=s1&sslmode=disable") == (
        "postgresql://u@h:1/db?sslmode=disable",
        "s1",
    )
    with pool.transaction() as cursor:
        cursor.execute("INSERT INTO t VALUES (1)")
    assert pool.has_tables("t") and not pool.has_tables("t", "nope")
    assert backend(pool) == backend(pool)


def test_a_broken_connection_is_dropped_and_the_next_caller_gets_a_new_one(pool):
    dead = backend(pool)
    with psycopg.connect(pool.dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (dead,))
    with pytest.raises(psycopg.OperationalError), pool.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert backend(pool) != dead


def test_after_a_server_restart_one_caller_fails_not_one_per_idle_connection(pool):
    held = [pool.connection() for _ in range(3)]
    pids = [conn.__enter__().info.backend_pid for conn in held]
    for conn in held:
        conn.__exit__(None, None, None)  # three idle connections now
    with psycopg.connect(pool.dsn, autocommit=True) as admin:  # as a restart does to them
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) pid", (pids,))
    with pytest.raises(psycopg.OperationalError), pool.cursor() as cursor:
        cursor.execute("SELECT 1")
    for _ in range(3):  # the idle ones were closed with the first: each caller gets a live one
        assert backend(pool) not in pids


def test_a_failed_transaction_commits_nothing_and_its_connection_is_reused_clean(pool):
    with pytest.raises(RuntimeError), pool.transaction() as cursor:
        cursor.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("the caller gives up")
    with pool.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM t")
        assert cursor.fetchone() == (0,)


def test_a_connection_given_back_inside_a_transaction_is_closed(pool):
    with pool.connection() as conn:
        conn.autocommit = False
        conn.execute("INSERT INTO t VALUES (3)")  # never committed
        kept = conn
    assert kept.closed
    with pool.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM t")
        assert cursor.fetchone() == (0,)


def test_max_size_bounds_the_connections(pg_dsn):
    pool = PostgresPool.from_url(postgres_url(pg_dsn), max_size=2)
    seen: set[int] = set()
    lock = threading.Lock()

    def work() -> None:
        with pool.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.05)")
            with lock:
                seen.add(cursor.fetchone()[0])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pool.close()
    assert 1 <= len(seen) <= 2


def test_a_read_only_pool_refuses_writes(pool, pg_dsn):
    reader = PostgresPool.from_url(postgres_url(pg_dsn, schema="s1"), read_only=True)
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), reader.cursor() as cursor:
        cursor.execute("INSERT INTO t VALUES (4)")
    reader.close()


GREEN = """
import eventlet
eventlet.monkey_patch()
import sys, time
from pgpool import PostgresPool
pool = PostgresPool.from_url(sys.argv[1], max_size=4)
def nap(_):
    with pool.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.3)")
started = time.monotonic()
list(eventlet.GreenPool(8).imap(nap, range(8)))
print(round(time.monotonic() - started, 2))
"""


def test_under_eventlet_callers_wait_on_the_database_side_by_side(pg_dsn):
    done = subprocess.run(
        [sys.executable, "-c", GREEN, postgres_url(pg_dsn)],
        cwd=ROOT,
        env={"PSYCOPG_IMPL": "python", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # 8 naps of 0.3 s on 4 connections: 0.6 s side by side, 2.4 s if each blocked the hub.
    assert float(done.stdout) < 1.8, done.stdout
