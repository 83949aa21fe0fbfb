"""Versioned schema migrations for PostgreSQL: `python -m platformrun.migrate [--url URL]`.

Run once before the services start (a one-shot Compose service, a Kubernetes Job), by a role
that may create in the database; the services then need only to read and write their tables.

Each schema has a folder of numbered SQL files, `platformrun/migrations/<schema>/NNNN_name.sql`.
A run, for every schema (or those named with `--schema`):
* creates the schema and its `schema_migrations` table (version, name, checksum, applied_at)
  when they are missing;
* refuses a schema whose newest applied version is newer than the newest file here (the
  database was migrated by newer code), or whose applied file has changed since;
* applies each file not yet applied, in order, each in its own transaction together with its
  `schema_migrations` row, so a failing file leaves no trace and the next run retries it;
* grants the runtime role named by `--grant schema=role` the use of the schema and the rights
  to read and write its tables (no CREATE).
Runs are serialised by an advisory lock, so two migrate jobs starting at once are harmless, and
a second run applies nothing. `--check` changes nothing: it fails unless every schema named is
at the newest version (a service's init step, run with the service's own read-write role).

A small module rather than a tool: yoyo-migrations (the simplest maintained candidate, last
released 2024) keeps one table for the whole database and has no "newer than the code"
refusal; Alembic wants SQLAlchemy. This is what the platform needs in a page of code, on the
psycopg it already uses.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
LOCK_KEY = 0x6D696772  # "migr"

TABLE = """CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    schema: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def known(root: Path = MIGRATIONS) -> dict[str, list[Migration]]:
    """The migrations in `root`, by schema, in version order; refuses gaps and duplicates."""
    found: dict[str, list[Migration]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        if not NAME.match(folder.name):
            raise MigrationError(f"schema folder {folder.name!r} is not a plain lower-case name")
        migrations = []
        for path in sorted(folder.glob("*.sql")):
            match = FILE_NAME.match(path.name)
            if not match:
                raise MigrationError(f"{path}: expected NNNN_name.sql")
            migrations.append(
                Migration(folder.name, int(match[1]), match[2], path.read_text(encoding="utf-8"))
            )
        versions = [m.version for m in migrations]
        if versions != list(range(1, len(versions) + 1)):
            raise MigrationError(f"{folder}: versions must run 1, 2, 3... without gaps: {versions}")
        found[folder.name] = migrations
    return found


def _chosen(available: dict[str, list[Migration]], schemas: list[str] | None) -> list[str]:
    """The schemas named (all when none are), each one this code has migrations for."""
    chosen = schemas or list(available)
    for schema in chosen:
        if schema not in available:
            raise MigrationError(f"no migrations for schema {schema!r} (known: {list(available)})")
    return chosen


def libpq_url(url: str) -> str:
    """The URL without our `schema` parameter (the services' URLs carry one)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "schema"]
    return urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))


def migrate(
    url: str,
    *,
    schemas: list[str] | None = None,
    grants: dict[str, str] | None = None,
    root: Path = MIGRATIONS,
    log=print,
) -> dict[str, int]:
    """Brings every schema (or those named) to the newest version; returns their versions."""
    import psycopg

    available = known(root)
    chosen = _chosen(available, schemas)
    versions = {}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            for schema in chosen:
                versions[schema] = _migrate_schema(conn, schema, available[schema], log)
                role = (grants or {}).get(schema)
                if role:
                    _grant(conn, schema, role)
                    log(f"{schema}: granted read and write to {role}")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return versions


OWNER = """SELECT pg_get_userbyid(n.nspowner), current_user,
       pg_has_role(current_user, n.nspowner, 'MEMBER')
       OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
FROM pg_namespace n WHERE n.nspname = %s"""


def _require_owner(conn, schema: str) -> None:
    """Refuses a schema that exists but is not this role's: one the gateway created itself
    before the migrations (owned by its runtime role), where this role cannot create."""
    row = conn.execute(OWNER, (schema,)).fetchone()
    if row is None or row[2]:
        return  # created below by this role, or already its own (or it is a superuser)
    owner, me = row[0], row[1]
    raise MigrationError(
        f"schema {schema} is owned by role {owner!r}, not by {me!r} that migrates: a schema"
        f" an older gateway created itself. Give it to the owner role first, as a superuser"
        f' or {owner!r}: ALTER SCHEMA "{schema}" OWNER TO "{me}"; (and its tables:'
        f' REASSIGN OWNED BY "{owner}" TO "{me}"; only if {owner!r} owns nothing else),'
        " then run the migrations again"
    )


def _migrate_schema(conn, schema: str, migrations: list[Migration], log) -> int:
    _require_owner(conn, schema)
    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    conn.execute(TABLE.format(schema=schema))
    applied = dict(
        conn.execute(f'SELECT version, checksum FROM "{schema}".schema_migrations').fetchall()
    )
    newest = migrations[-1].version if migrations else 0
    if applied and max(applied) > newest:
        raise MigrationError(
            f"schema {schema} is at version {max(applied)}, newer than this code knows"
            f" ({newest}): run the newer code's migrations, or restore the matching code"
        )
    for migration in migrations:
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                raise MigrationError(
                    f"{schema} {migration.version:04d}_{migration.name}.sql was changed after it"
                    " was applied: add a new migration instead"
                )
            continue
        with conn.transaction():
            conn.execute(f'SET LOCAL search_path TO "{schema}"')
            conn.execute(migration.sql.encode())
            conn.execute(
                f'INSERT INTO "{schema}".schema_migrations (version, name, checksum)'
                " VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
        log(f"{schema}: applied {migration.version:04d}_{migration.name}")
    return newest


def check(url: str, *, schemas: list[str] | None = None, root: Path = MIGRATIONS) -> None:
    """Raises unless every schema (or those named) is at the newest version here; a schema
    this code has no migrations for is refused, not found "up to date" at version 0."""
    import psycopg

    available = known(root)
    chosen = _chosen(available, schemas)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for schema in chosen:
            newest = available[schema][-1].version if available[schema] else 0
            table = f'"{schema}".schema_migrations'
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
            at = 0
            if exists and exists[0]:
                row = conn.execute(f"SELECT coalesce(max(version), 0) FROM {table}").fetchone()
                at = row[0] if row else 0
            if at != newest:
                raise MigrationError(
                    f"schema {schema} is at version {at}, this code needs {newest}:"
                    " run `python -m platformrun.migrate` as the database owner"
                )


def _grant(conn, schema: str, role: str) -> None:
    if not NAME.match(role):
        raise MigrationError(f"role {role!r} is not a plain lower-case name")
    with conn.transaction():
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.execute(
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"'
        )
        conn.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m platformrun.migrate", description=__doc__)
    parser.add_argument(
        "--url",
        default=os.environ.get("MIGRATE_URL", ""),
        help="postgresql://owner@host:port/db (default: $MIGRATE_URL)",
    )
    parser.add_argument("--schema", action="append", help="only this schema (repeatable)")
    parser.add_argument(
        "--grant",
        action="append",
        default=os.environ.get("MIGRATE_GRANTS", "").split(),
        metavar="SCHEMA=ROLE",
        help="let ROLE read and write SCHEMA's tables (repeatable; default: $MIGRATE_GRANTS)",
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; fail unless up to date"
    )
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url postgresql://... or set MIGRATE_URL")
    try:
        grants = dict(item.split("=", 1) for item in args.grant)
    except ValueError:
        parser.error("--grant takes SCHEMA=ROLE")
    try:
        if args.check:
            check(args.url, schemas=args.schema)
            print("up to date")
            return 0
        versions = migrate(args.url, schemas=args.schema, grants=grants)
    except MigrationError as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    for schema, version in versions.items():
        print(f"{schema}: at version {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
