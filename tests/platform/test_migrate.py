"""`python -m platformrun.migrate`: numbered SQL files per schema, each applied once in its own
transaction, recorded in the schema's `schema_migrations`; a database migrated by newer code,
or an applied file changed since, is refused."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from platformrun.migrate import MIGRATIONS, MigrationError, check, known, migrate
from tests.support.gateway_state import postgres_url, runtime_role

pytestmark = pytest.mark.postgres


def quiet(_line: str) -> None:
    pass


def write(root, schema: str, name: str, sql: str) -> None:
    (root / schema).mkdir(parents=True, exist_ok=True)
    (root / schema / name).write_text(sql)


def applied(pg_dsn: str, schema: str) -> list[tuple[int, str]]:
    with psycopg.connect(pg_dsn) as conn:
        return conn.execute(
            f"SELECT version, name FROM {schema}.schema_migrations ORDER BY version"
        ).fetchall()


def test_files_apply_once_in_order_and_a_failing_one_leaves_no_trace(tmp_path, pg_dsn):
    url = postgres_url(pg_dsn)
    write(tmp_path, "shop", "0001_items.sql", "CREATE TABLE items (id INT PRIMARY KEY);")
    write(tmp_path, "shop", "0002_price.sql", "ALTER TABLE items ADD COLUMN price BIGINT;")
    assert migrate(url, root=tmp_path, log=quiet) == {"shop": 2}
    assert migrate(url, root=tmp_path, log=quiet) == {"shop": 2}, "a second run is a no-op"
    assert applied(pg_dsn, "shop") == [(1, "items"), (2, "price")]

    write(tmp_path, "shop", "0003_broken.sql", "CREATE TABLE half (x INT); SELECT nonsense;")
    with pytest.raises(psycopg.errors.UndefinedColumn):
        migrate(url, root=tmp_path, log=quiet)
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT to_regclass('shop.half')").fetchone()[0] is None
    assert [v for v, _ in applied(pg_dsn, "shop")] == [1, 2]
    write(tmp_path, "shop", "0003_broken.sql", "CREATE TABLE half (x INT);")
    assert migrate(url, root=tmp_path, log=quiet) == {"shop": 3}, "fixed, it is applied"


def test_a_database_newer_than_the_code_or_an_edited_file_is_refused(tmp_path, pg_dsn):
    url = postgres_url(pg_dsn)
    newer, older = tmp_path / "newer", tmp_path / "older"
    for root in (newer, older):
        write(root, "shop", "0001_items.sql", "CREATE TABLE items (id INT);")
    write(newer, "shop", "0002_more.sql", "CREATE TABLE more (id INT);")
    migrate(url, root=newer, log=quiet)
    with pytest.raises(MigrationError, match="version 2, newer than this code knows"):
        migrate(url, root=older, log=quiet)
    write(newer, "shop", "0001_items.sql", "CREATE TABLE items (id BIGINT);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(url, root=newer, log=quiet)


def test_gaps_and_odd_names_are_refused(tmp_path):
    write(tmp_path, "shop", "0001_a.sql", "")
    write(tmp_path, "shop", "0003_c.sql", "")
    with pytest.raises(MigrationError, match="without gaps"):
        known(tmp_path)
    (tmp_path / "shop" / "0003_c.sql").rename(tmp_path / "shop" / "2_c.sql")
    with pytest.raises(MigrationError, match="NNNN_name.sql"):
        known(tmp_path)


def test_the_command_migrates_the_gateway_schema_and_grants_the_runtime_role(pg_dsn):
    role = runtime_role(pg_dsn)
    url = postgres_url(pg_dsn, schema="gateway")  # a service's URL works too: schema ignored
    command = [sys.executable, "-m", "platformrun.migrate", "--url", url]
    behind = subprocess.run([*command, "--check"], capture_output=True, text=True)
    assert behind.returncode == 1 and "at version 0" in behind.stderr
    done = subprocess.run([*command, "--grant", f"gateway={role}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    newest = len(known(MIGRATIONS)["gateway"])
    assert f"gateway: at version {newest}" in done.stdout
    assert [v for v, _ in applied(pg_dsn, "gateway")] == list(range(1, newest + 1))
    runtime = postgres_url(pg_dsn, user=role, schema="gateway")
    checked = subprocess.run(
        # as the gateway's init container runs it: its own schema only
        [sys.executable, "-m", "platformrun.migrate", "--url", runtime]
        + ["--check", "--schema", "gateway"],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, "the runtime role can check: the gateway's init step"
    with psycopg.connect(postgres_url(pg_dsn, user=role), autocommit=True) as conn:
        conn.execute("INSERT INTO gateway.revoked VALUES ('j', 1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE gateway.extra (x INT)")
    missing = subprocess.run(
        [sys.executable, "-m", "platformrun.migrate"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert missing.returncode != 0 and "MIGRATE_URL" in missing.stderr


def test_a_schema_owned_by_another_role_is_refused_naming_the_fix(tmp_path, pg_dsn):
    """A schema the old gateway created (owned by its runtime role): the owner role that
    migrates cannot create tables in it, so the run stops at once and says what to run."""
    owner, gateway = runtime_role(pg_dsn), runtime_role(pg_dsn)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        dbname = conn.info.dbname
        conn.execute(f'GRANT CREATE ON DATABASE "{dbname}" TO "{owner}"')
        conn.execute(f'CREATE SCHEMA legacy AUTHORIZATION "{gateway}"')
    write(tmp_path, "legacy", "0001_items.sql", "CREATE TABLE items (id INT PRIMARY KEY);")
    url = postgres_url(pg_dsn, user=owner)
    with pytest.raises(MigrationError) as refused:
        migrate(url, root=tmp_path, log=quiet)
    message = str(refused.value)
    assert f'ALTER SCHEMA "legacy" OWNER TO "{owner}"' in message and gateway in message
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('legacy.schema_migrations')").fetchone()[0] is None
        conn.execute(f'ALTER SCHEMA legacy OWNER TO "{owner}"')
    assert migrate(url, root=tmp_path, log=quiet) == {"legacy": 1}, "after the fix it runs"


def test_checking_a_schema_with_no_migrations_is_refused_not_up_to_date(pg_dsn):
    """A misspelt `--check --schema` in an init container would otherwise pass at once, and
    the service start on a schema nobody migrated."""
    url = postgres_url(pg_dsn)
    with pytest.raises(MigrationError, match="no migrations for schema 'gatway'"):
        check(url, schemas=["gatway"])
    command = [sys.executable, "-m", "platformrun.migrate", "--url", url, "--check"]
    typo = subprocess.run([*command, "--schema", "gatway"], capture_output=True, text=True)
    assert typo.returncode == 1, typo.stdout
    assert "up to date" not in typo.stdout
    assert "no migrations for schema 'gatway'" in typo.stderr and "'gateway'" in typo.stderr
