"""Evidence files on both backends: the directory (`make run`) and the gateway's PostgreSQL
schema (GATEWAY_STATE_URL), which every replica shares. Same contract: named by a checked
SHA-256, written once, uploaders recorded; and through HTTP, a file uploaded to one replica is
read back from another."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import threading
from dataclasses import replace

import pytest

from platformrun.migrate import MIGRATIONS, migrate
from services.gateway.app import create_app
from services.gateway.evidence import EvidenceEmpty, EvidenceMismatch, EvidenceStore
from services.gateway.evidence_pg import PostgresEvidenceStore, open_evidence_store
from services.gateway.state.db import NotMigrated, PostgresDb
from tests.support.gateway import auth, gateway_settings
from tests.support.gateway_state import migrated_gateway_url, postgres_url, runtime_role

PHOTO = b"\x89PNG rectified shop front" * 100
NAME = hashlib.sha256(PHOTO).hexdigest()


@pytest.fixture(params=["directory", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(request, tmp_path):
    """Two stores on the same backing, as two replicas would open them."""
    if request.param == "directory":
        yield EvidenceStore(tmp_path / "evidence"), EvidenceStore(tmp_path / "evidence")
        return
    url = migrated_gateway_url(request.getfixturevalue("pg_dsn"))
    dbs = [PostgresDb(url).require_migrated() for _ in range(2)]
    yield tuple(PostgresEvidenceStore(db) for db in dbs)
    for db in dbs:
        db.close()


def test_a_file_is_stored_once_and_read_back_by_the_other_replica(stores):
    one, other = stores
    assert not other.exists(NAME) and other.uploaders(NAME) == set()
    assert one.put(NAME, io.BytesIO(PHOTO), "merchant:m-1") is True
    assert other.put(NAME, io.BytesIO(PHOTO), "inspector:ins-a") is False, "already there"
    assert one.put(NAME, io.BytesIO(PHOTO), "merchant:m-1") is False
    assert other.exists(NAME)
    assert one.uploaders(NAME) == other.uploaders(NAME) == {"merchant:m-1", "inspector:ins-a"}
    with other.open(NAME) as read:
        assert read.read() == PHOTO


def test_bytes_that_are_not_their_name_or_none_at_all_are_refused_and_not_stored(stores):
    one, other = stores
    with pytest.raises(EvidenceMismatch) as refused:
        one.put(NAME, io.BytesIO(b"another file"), "merchant:m-1")
    assert refused.value.actual == hashlib.sha256(b"another file").hexdigest()
    with pytest.raises(EvidenceEmpty):
        one.put(hashlib.sha256(b"").hexdigest(), io.BytesIO(b""), "merchant:m-1")
    assert not other.exists(NAME) and other.uploaders(NAME) == set()
    with pytest.raises(FileNotFoundError):
        other.open(NAME)
    one.put(NAME, io.BytesIO(PHOTO), "merchant:m-1")
    with pytest.raises(EvidenceMismatch):  # stored already: the body is still checked
        other.put(NAME, io.BytesIO(b"another file"), "merchant:m-2")
    assert other.uploaders(NAME) == {"merchant:m-1"}


@pytest.mark.parametrize("name", ["../../etc/passwd", "A" * 64, "0" * 63])
def test_only_a_sha256_names_a_file(stores, name):
    with pytest.raises(ValueError):
        stores[0].exists(name)


def test_replicas_storing_the_same_bytes_at_once_store_them_once(stores):
    results: list[bool] = []

    def upload(store, who):
        results.append(store.put(NAME, io.BytesIO(PHOTO), who))

    threads = [
        threading.Thread(target=upload, args=(stores[i % 2], f"merchant:m-{i}")) for i in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]
    assert stores[1].uploaders(NAME) == {f"merchant:m-{i}" for i in range(6)}


def test_the_directory_is_the_store_unless_the_state_is_in_postgresql(tmp_path):
    assert isinstance(open_evidence_store("", str(tmp_path)), EvidenceStore)


@pytest.mark.postgres
def test_through_http_a_file_put_to_one_gateway_is_read_from_another(tmp_path, pg_dsn):
    url = migrated_gateway_url(pg_dsn)
    apps = [
        create_app(
            replace(
                gateway_settings(tmp_path / name, "amqp://unused", state_url=url),
                jwt_key_file=str(tmp_path / "jwt.pem"),  # one signing key, as replicas share
            )
        )
        for name in ("a", "b")
    ]
    a, b = (app.test_client() for app in apps)
    try:
        shop = auth(a, "merchant", "m-1")
        put = a.put(
            f"/api/v1/evidence/{NAME}",
            data=PHOTO,
            headers={**shop, "Content-Type": "application/octet-stream"},
        )
        assert put.status_code == 201, put.get_data(as_text=True)
        for who in (shop, auth(b, "regulator", "r-1")):
            got = b.get(f"/api/v1/evidence/{NAME}", headers=who)
            assert got.status_code == 200 and got.data == PHOTO
        other_shop = b.get(f"/api/v1/evidence/{NAME}", headers=auth(b, "merchant", "m-2"))
        assert other_shop.status_code == 404
        again = b.put(
            f"/api/v1/evidence/{NAME}",
            data=PHOTO,
            headers={**shop, "Content-Type": "application/octet-stream"},
        )
        assert again.status_code == 200
        assert isinstance(apps[1].config["EVIDENCE"], PostgresEvidenceStore)
        for name in ("a", "b"):
            assert not (tmp_path / name / "evidence").exists(), "no file was written"
    finally:
        for app in apps:
            app.config["STATE"].close()


@pytest.mark.postgres
def test_a_directory_is_imported_once_with_its_uploaders(tmp_path, pg_dsn):
    directory = EvidenceStore(tmp_path / "evidence")
    other = b"%PDF-1.7 rectification report"
    directory.put(NAME, io.BytesIO(PHOTO), "merchant:m-1")
    directory.put(NAME, io.BytesIO(PHOTO), "inspector:ins-a")
    directory.put(hashlib.sha256(other).hexdigest(), io.BytesIO(other), "merchant:m-2")
    (tmp_path / "evidence" / NAME[:2] / ".upload-left-by-a-crash").write_bytes(b"half")
    orphan = b"stored, then the uploader's line was lost to a crash"
    orphan_name = hashlib.sha256(orphan).hexdigest()
    (tmp_path / "evidence" / orphan_name[:2]).mkdir(exist_ok=True)
    (tmp_path / "evidence" / orphan_name[:2] / orphan_name).write_bytes(orphan)
    url = migrated_gateway_url(pg_dsn)
    command = [sys.executable, "-m", "services.gateway.evidence_pg", "--import-dir"]
    env = {**os.environ, "GATEWAY_STATE_URL": url}
    first = subprocess.run(
        [*command, str(tmp_path / "evidence")], env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    assert "3 evidence file(s) copied, 0 already there" in first.stdout
    again = subprocess.run(
        [*command, str(tmp_path / "evidence")], env=env, capture_output=True, text=True
    )
    assert "0 evidence file(s) copied, 3 already there" in again.stdout
    db = PostgresDb(url)
    try:
        shared = PostgresEvidenceStore(db)
        assert shared.uploaders(NAME) == {"merchant:m-1", "inspector:ins-a"}
        assert shared.open(hashlib.sha256(other).hexdigest()).read() == other
        with shared.db.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM evidence_files")
            assert cursor.fetchone()[0] == 3
        assert shared.open(orphan_name).read() == orphan
        assert shared.uploaders(orphan_name) == set(), "readable by regulators only, as it was"
    finally:
        db.close()


def at_version_one(pg_dsn: str, root) -> str:
    """The gateway schema as a gateway before evidence left the directory had it: migrated to
    version 1 only (no evidence tables); the runtime role's URL."""
    (root / "gateway").mkdir(parents=True)
    first = sorted((MIGRATIONS / "gateway").glob("0001_*.sql"))[0]
    (root / "gateway" / first.name).write_text(first.read_text())
    role = runtime_role(pg_dsn)
    migrate(postgres_url(pg_dsn), grants={"gateway": role}, root=root, log=lambda _: None)
    return postgres_url(pg_dsn, user=role, schema="gateway")


@pytest.mark.postgres
def test_a_schema_without_the_evidence_tables_is_refused_at_start_not_at_each_request(
    tmp_path, pg_dsn
):
    url = at_version_one(pg_dsn, tmp_path / "migrations")
    with pytest.raises(NotMigrated, match="evidence_files"):
        open_evidence_store(url, str(tmp_path / "evidence"))
    settings = gateway_settings(tmp_path / "gw", "amqp://unused", state_url=url)
    with pytest.raises(NotMigrated, match="platformrun.migrate"):
        create_app(replace(settings, jwt_key_file=str(tmp_path / "jwt.pem")))
    EvidenceStore(tmp_path / "evidence").put(NAME, io.BytesIO(PHOTO), "merchant:m-1")
    imported = subprocess.run(
        [sys.executable, "-m", "services.gateway.evidence_pg"]
        + ["--import-dir", str(tmp_path / "evidence"), "--url", url],
        capture_output=True,
        text=True,
    )
    assert imported.returncode == 1
    assert "Traceback" not in imported.stderr, imported.stderr
    assert "evidence_files" in imported.stderr and "platformrun.migrate" in imported.stderr


@pytest.mark.postgres
def test_an_import_skips_corrupted_files_copies_the_rest_and_fails_at_the_end(tmp_path, pg_dsn):
    directory = EvidenceStore(tmp_path / "evidence")
    other = b"%PDF-1.7 rectification report"
    directory.put(NAME, io.BytesIO(PHOTO), "merchant:m-1")
    directory.put(hashlib.sha256(other).hexdigest(), io.BytesIO(other), "merchant:m-2")
    # Named first, so an import stopping at the first bad file would copy nothing: one with
    # an uploader, one without (its uploader's line lost), both no longer their SHA-256.
    rotten, orphan = "0" * 64, "1" * 64
    for name in (rotten, orphan):
        (tmp_path / "evidence" / name[:2]).mkdir(exist_ok=True)
        (tmp_path / "evidence" / name[:2] / name).write_bytes(b"bit rot")
    (tmp_path / "evidence" / "00" / f"{rotten}.by").write_text("merchant:m-3\n")
    url = migrated_gateway_url(pg_dsn)
    imported = subprocess.run(
        [sys.executable, "-m", "services.gateway.evidence_pg"]
        + ["--import-dir", str(tmp_path / "evidence"), "--url", url],
        capture_output=True,
        text=True,
    )
    assert imported.returncode == 1, imported.stdout + imported.stderr
    assert "2 evidence file(s) copied, 0 already there, 2 skipped" in imported.stdout
    for name in (rotten, orphan):
        assert f"skipped {name}" in imported.stderr
    assert "Traceback" not in imported.stderr
    db = PostgresDb(url)
    try:
        shared = PostgresEvidenceStore(db)
        assert shared.open(NAME).read() == PHOTO
        assert shared.open(hashlib.sha256(other).hexdigest()).read() == other
        assert not shared.exists(rotten) and not shared.exists(orphan)
        assert shared.uploaders(rotten) == set()
    finally:
        db.close()
