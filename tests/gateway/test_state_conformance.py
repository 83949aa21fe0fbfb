"""Every port of the gateway's shared state (services/gateway/state/ports.py), against SQLite
and against PostgreSQL. On PostgreSQL the schema is migrated by its owner and the adapters
run as a role that cannot CREATE, so a CREATE left in the runtime code fails here."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.gateway.errors import ApiError
from services.gateway.login_guard import LoginGuard
from services.gateway.settings import LoginLimits
from services.gateway.state import idempotency, logins, revocations
from services.gateway.state.db import NotMigrated, PostgresDb, SqliteDb
from services.gateway.state.idempotency import SqlIdempotencyRecords
from services.gateway.state.logins import SqlLoginFailures, SqlUsedCodes
from services.gateway.state.ports import IN_PROGRESS
from services.gateway.state.revocations import SqlRevokedTokens
from tests.support.gateway_state import migrated_gateway_url, postgres_url, runtime_role

SQLITE_TABLES = idempotency.SQLITE_TABLES + revocations.SQLITE_TABLES + logins.SQLITE_TABLES


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def open_db(request, tmp_path):
    """Opens the same state again (as a second replica would); closes all at the end."""
    opened = []
    if request.param == "sqlite":
        path = tmp_path / "state.db"

        def make():
            opened.append(SqliteDb(path, SQLITE_TABLES))
            return opened[-1]
    else:
        url = migrated_gateway_url(request.getfixturevalue("pg_dsn"))

        def make():
            opened.append(PostgresDb(url).require_migrated())
            return opened[-1]

    yield make
    for db in opened:
        db.close()


# --- IdempotencyRecords ----------------------------------------------------------------------


def test_a_key_is_taken_once_then_its_response_is_replayed_on_any_replica(open_db):
    a = SqlIdempotencyRecords(open_db())
    b = SqlIdempotencyRecords(open_db())
    assert a.begin("consumer:c-1", "k", "f1") is None
    marker = b.begin("consumer:c-1", "k", "f1")
    assert marker is not None and marker.status == IN_PROGRESS
    a.finish("consumer:c-1", "k", 201, b'{"ok": true}')
    stored = b.begin("consumer:c-1", "k", "f1")
    assert (stored.fingerprint, stored.status, stored.body) == ("f1", 201, b'{"ok": true}')
    assert b.begin("consumer:c-1", "k", "other").fingerprint == "f1", "the caller sees reuse"
    assert b.begin("consumer:c-2", "k", "f1") is None, "keys are scoped to the caller"


def test_a_server_error_frees_the_key(open_db):
    records = SqlIdempotencyRecords(open_db())
    assert records.begin("s", "k", "f") is None
    records.finish("s", "k", 503, b"")
    assert records.begin("s", "k", "f") is None


def test_only_one_of_many_concurrent_requests_takes_a_key(open_db):
    records = [SqlIdempotencyRecords(open_db()) for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: records[n % 4].begin("s", "race", "f"), range(16)))
    assert results.count(None) == 1


def test_records_expire_on_read_and_are_swept(open_db):
    records = SqlIdempotencyRecords(open_db(), ttl=0.5, cleanup_every=0)
    for key in ("k1", "k2"):
        assert records.begin("s", key, "f") is None
        records.finish("s", key, 200, b"{}")
    assert records.begin("s", "k1", "f") is not None
    time.sleep(0.7)
    assert records.begin("s", "k1", "other") is None, "an expired record is none"
    with records.db.cursor() as cursor:
        cursor.execute("SELECT key FROM responses")
        assert [row[0] for row in cursor.fetchall()] == ["k1"], "the expired one was swept"


def test_a_stale_marker_of_the_same_request_is_taken_over(open_db):
    records = SqlIdempotencyRecords(open_db(), stale_after=0.3)
    assert records.begin("s", "k", "f") is None
    assert records.begin("s", "k", "f").status == IN_PROGRESS
    time.sleep(0.4)
    assert records.begin("s", "k", "g").status == IN_PROGRESS, "another request is refused"
    assert records.begin("s", "k", "f") is None, "the same request runs again"


# --- RevokedTokens ---------------------------------------------------------------------------


def test_a_token_revoked_on_one_replica_is_revoked_on_another(open_db):
    a, b = SqlRevokedTokens(open_db(), refresh=0), SqlRevokedTokens(open_db(), refresh=0)
    assert "j1" not in b
    a.revoke("j1", time.time() + 60)
    a.revoke("j1", time.time() + 60)
    assert "j1" in b and "j1" in a and "j2" not in b
    a.revoke("old", time.time() - 1)
    SqlRevokedTokens(open_db()).revoke("j3", time.time() + 60)
    assert "old" not in SqlRevokedTokens(open_db()), "expired revocations are dropped"


class CountingDb:
    """A StateDb that counts the statements run through it."""

    def __init__(self, db):
        self.db, self.statements, self.sql = db, 0, []

    def cursor(self, **options):
        outer = self

        class Counting:
            def __enter__(self):
                self.inner = outer.db.cursor(**options)
                self.cursor = self.inner.__enter__()
                return self

            def __exit__(self, *exc):
                return self.inner.__exit__(*exc)

            def execute(self, sql, params=()):
                outer.statements += 1
                outer.sql.append(sql)
                return self.cursor.execute(sql, params)

            def __getattr__(self, name):
                return getattr(self.cursor, name)

        return Counting()

    def __getattr__(self, name):
        return getattr(self.db, name)


def test_checks_read_memory_and_another_replicas_revocation_arrives_within_the_bound(open_db):
    db = CountingDb(open_db())
    a = SqlRevokedTokens(db, refresh=0.5)
    other = SqlRevokedTokens(open_db(), refresh=0.5)
    assert "j1" not in a
    before = db.statements
    for _ in range(200):
        assert "j1" not in a
    assert db.statements - before <= 1, "a miss is answered from memory, not the table"
    other.revoke("j1", time.time() + 60)
    assert "j1" in other, "a revocation through this replica applies at once"
    deadline = time.monotonic() + 0.5 + 0.5
    while "j1" not in a:
        assert time.monotonic() < deadline, "seen by the other replica within the bound"
        time.sleep(0.05)


# --- LoginFailures (through the guard's rules) and UsedCodes ---------------------------------


def guard(db, **limits) -> LoginGuard:
    return LoginGuard(SqlLoginFailures(db), SqlUsedCodes(db), LoginLimits(**limits))


def test_a_source_locked_on_one_replica_is_locked_on_another(open_db):
    a, b = guard(open_db(), window=60), guard(open_db(), window=60)
    now = time.time()
    for n in range(5):
        (a if n % 2 else b).begin("198.51.100.1", "reg-zhang", now + n * 5)
    with pytest.raises(ApiError) as refused:
        b.begin("198.51.100.1", "reg-zhang", now + 30)
    assert refused.value.status == 429
    assert refused.value.details["reason"] == "source_and_username_locked"
    assert refused.value.details["retry_after_seconds"] == 30
    attempt = a.begin("203.0.113.9", "reg-zhang", now + 40)  # the owner: slowed, not locked
    b.succeeded(attempt)
    a.begin("203.0.113.9", "reg-zhang", now + 41)
    with pytest.raises(ApiError):
        a.begin("198.51.100.1", "reg-zhang", now + 42)  # the guessing source stays locked


def test_concurrent_guesses_on_many_replicas_get_no_more_tries(open_db):
    guards = [guard(open_db(), window=60, source_max_failures=100) for _ in range(4)]
    now = time.time()

    def try_once(n: int) -> bool:
        try:
            guards[n % 4].begin("198.51.100.2", "reg-li", now + n * 1e-3)
            return True
        except ApiError:
            return False

    with ThreadPoolExecutor(8) as pool:
        let_through = list(pool.map(try_once, range(20)))
    assert let_through.count(True) == 5


def test_old_failures_are_forgotten_whoever_they_were(open_db):
    db = open_db()
    g = guard(db, window=60)
    for n in range(50):
        g.begin(f"198.51.100.{n}", f"user-{n}", now=1000.0)
    g.begin("203.0.113.20", "reg-zhang", now=1000.0 + 61)
    with db.cursor() as cursor:
        for table in logins.FAILURE_TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            assert cursor.fetchone()[0] == 1, table


def test_a_totp_step_and_a_nonce_used_on_one_replica_are_refused_on_another(open_db):
    a, b = guard(open_db()), guard(open_db())
    assert a.use_step("reg-zhang", 100)
    assert not b.use_step("reg-zhang", 100) and not b.use_step("reg-zhang", 99)
    assert b.use_step("reg-zhang", 101) and b.use_step("reg-wang", 100)
    now = time.time()
    assert a.use_nonce("pos-1", "n1", now)
    assert not b.use_nonce("pos-1", "n1", now + 1)
    assert b.use_nonce("pos-2", "n1", now + 1), "nonces are per device"
    assert b.use_nonce("pos-1", "n1", now + 601), "forgotten after twice the signature window"


# --- PostgreSQL: migrated, never created at run time ------------------------------------------


@pytest.mark.postgres
def test_the_runtime_role_cannot_create_and_an_unmigrated_schema_is_refused(pg_dsn):
    import psycopg

    url = migrated_gateway_url(pg_dsn)
    db = PostgresDb(url).require_migrated()
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.cursor() as cursor:
        cursor.execute("CREATE TABLE gateway.sneaky (x INT)")
    db.close()
    bare = postgres_url(pg_dsn, user=runtime_role(pg_dsn), schema="gateway")
    with pytest.raises(NotMigrated, match="platformrun.migrate"):
        PostgresDb(bare).require_migrated()


def test_the_default_sqlite_files_are_private_and_beside_each_other(tmp_path):
    import os
    import stat

    from services.gateway.app import create_app
    from tests.support.gateway import gateway_settings

    previous = os.umask(0)
    try:
        app = create_app(gateway_settings(tmp_path, "amqp://unused"))
    finally:
        os.umask(previous)
    for name in ("idempotency.db", "revoked.db", "logins.db"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    app.config["STATE"].close()


def test_expired_records_are_swept_at_most_every_cleanup_interval(open_db):
    db = CountingDb(open_db())
    records = SqlIdempotencyRecords(db, ttl=0.2, cleanup_every=0.5)
    for n in range(30):
        assert records.begin("s", f"k{n}", "f") is None
    sweeps = [sql for sql in db.sql if "LIMIT" in sql]
    assert len(sweeps) == 1, f"{len(sweeps)} sweeps for 30 writes"
    time.sleep(0.6)
    assert records.begin("s", "late", "f") is None
    assert len([sql for sql in db.sql if "LIMIT" in sql]) == 2, "swept again after the interval"
    with db.db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM responses")
        assert cursor.fetchone()[0] == 1, "the expired ones went in that sweep"


def test_an_outage_keeps_the_last_set_but_never_starts_with_none(open_db):
    db = CountingDb(open_db())
    SqlRevokedTokens(open_db()).revoke("j1", time.time() + 60)
    broken = {"now": True}
    real = db.cursor

    def cursor(**options):
        if broken["now"]:
            raise ConnectionError("the state database is down")
        return real(**options)

    db.cursor = cursor
    tokens = SqlRevokedTokens(db, refresh=0)
    with pytest.raises(ConnectionError):
        "j1" in tokens  # noqa: B015 - the check is the call
    broken["now"] = False
    assert "j1" in tokens and "j2" not in tokens
    broken["now"] = True
    assert "j1" in tokens and "j2" not in tokens, "served from the last set"
