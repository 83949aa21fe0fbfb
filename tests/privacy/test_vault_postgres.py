"""The PostgreSQL vault: data keys wrapped by a key-encryption key kept out of the database,
erasure that leaves the events' ciphertext unreadable for good, and a KEK rotated by
`python -m privacy.rewrap`."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import psycopg
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eventstore import NewEvent
from eventstore.postgres import PostgresEventStore
from privacy import Forgotten, open_vault
from privacy.kek import KekError, kek_id, load_keks, parse_keks
from privacy.postgres import PostgresVault, VaultNotMigrated
from tests.support.gateway_state import postgres_url, runtime_role
from tests.support.migrated import libpq_dsn, migrated_url

pytestmark = pytest.mark.postgres


def new_kek() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def rows(pg_dsn: str, schema: str, table: str) -> list[tuple]:
    with psycopg.connect(pg_dsn) as conn:
        return conn.execute(f"SELECT * FROM {schema}.{table} ORDER BY 1").fetchall()


def test_a_data_key_is_stored_only_wrapped_by_the_kek_and_bound_to_its_subject(pg_dsn):
    kek = new_kek()
    vault = PostgresVault(migrated_url(pg_dsn, "risk"), parse_keks(kek))
    token = vault.encrypt("c-1", "complaint_text", "秘密")
    vault.encrypt("c-2", "complaint_text", "other")
    (subject, wrapped_by, wrapped), _ = rows(pg_dsn, "risk", "vault_keys")
    assert subject == "c-1" and wrapped_by == kek_id(base64.b64decode(kek))
    wrapped = bytes(wrapped)
    key = AESGCM(base64.b64decode(kek)).decrypt(wrapped[:12], wrapped[12:], b"vault-key|c-1")
    raw = base64.urlsafe_b64decode(token[4:])
    assert AESGCM(key).decrypt(raw[:12], raw[12:], b"c-1|complaint_text") == "秘密".encode()
    assert key not in wrapped, "the data key is not in the row in clear"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:  # c-2's row given to c-1
        conn.execute(
            "UPDATE risk.vault_keys SET wrapped = (SELECT wrapped FROM risk.vault_keys"
            " WHERE subject = 'c-2'), kek_id = (SELECT kek_id FROM risk.vault_keys"
            " WHERE subject = 'c-2') WHERE subject = 'c-1'"
        )
    with pytest.raises(InvalidTag):
        vault.decrypt("c-1", "complaint_text", token)
    stranger = PostgresVault(migrated_url(pg_dsn, "risk"), parse_keks(new_kek()))
    with pytest.raises(KekError, match="not configured"):
        stranger.decrypt("c-2", "complaint_text", token), "another KEK opens nothing"
    vault.close()
    stranger.close()


def test_erased_data_cannot_be_decrypted_from_the_events(pg_dsn):
    """Crypto-shredding: the events keep their ciphertext, and no replica, even with the KEK
    and the whole database, can read it once the person is erased."""
    kek = new_kek()
    role = runtime_role(pg_dsn)
    url = migrated_url(pg_dsn, "merchant", role=role)
    store = PostgresEventStore(*libpq_dsn(url)[:1], schema="merchant", create=False)
    one, two = PostgresVault(url, parse_keks(kek)), PostgresVault(url, parse_keks(kek))
    sealed = one.encrypt("m-7", "contact_phone", "13812345678")
    store.append("merchant-m-7", [NewEvent("merchant.Registered.v1", {"phone": sealed})], 0)
    (event,) = store.read_all()
    assert two.decrypt("m-7", "contact_phone", event.data["phone"]) == "13812345678"

    two.forget("m-7")
    (event,) = store.read_all()
    assert event.data["phone"] == sealed, "the event is unchanged: only the key is gone"
    for vault in (one, two, PostgresVault(url, parse_keks(kek))):
        with pytest.raises(Forgotten):
            vault.decrypt("m-7", "contact_phone", event.data["phone"])
    assert rows(pg_dsn, "merchant", "vault_keys") == []
    assert rows(pg_dsn, "merchant", "vault_forgotten") == [("m-7",)]
    with psycopg.connect(pg_dsn) as conn:
        dump = str(conn.execute("SELECT * FROM merchant.events").fetchall())
    assert "13812345678" not in dump
    store.close()
    one.close()
    two.close()


def test_the_kek_is_rotated_by_rewrapping_every_key(pg_dsn, tmp_path):
    old, new = new_kek(), new_kek()
    url = migrated_url(pg_dsn, "merchant")
    before = PostgresVault(url, parse_keks(old))
    tokens = {f"m-{n}": before.encrypt(f"m-{n}", "p", f"text-{n}") for n in range(5)}
    before.close()
    secret = tmp_path / "kek"
    secret.write_text(f"{new}\n{old}\n")  # step 2: the new key first, the old still listed
    env = {**os.environ, "VAULT_KEK_FILE": str(secret), "VAULT_URL": url}
    command = [sys.executable, "-m", "privacy.rewrap"]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "rewrapped 5 keys" in done.stdout
    again = subprocess.run(command, env=env, capture_output=True, text=True)
    assert "rewrapped 0 keys" in again.stdout
    new_id = kek_id(base64.b64decode(new))
    assert {row[1] for row in rows(pg_dsn, "merchant", "vault_keys")} == {new_id}
    after = PostgresVault(url, parse_keks(new))  # step 4: the old key dropped
    for subject, token in tokens.items():
        assert after.decrypt(subject, "p", token) == f"text-{subject[2:]}"
    after.close()
    stale = PostgresVault(url, parse_keks(old))
    with pytest.raises(KekError):
        stale.decrypt("m-1", "p", tokens["m-1"])
    stale.close()


def test_configuration_names_the_kek_source_and_the_schema_must_be_migrated(pg_dsn, tmp_path):
    kek = new_kek()
    secret = tmp_path / "kek"
    secret.write_text(kek + "\n")
    assert load_keks({"VAULT_KEK_FILE": str(secret)}) == parse_keks(kek)
    assert load_keks({"VAULT_KEK": kek}) == parse_keks(kek)
    with pytest.raises(KekError, match="VAULT_KEK_FILE"):
        load_keks({"VAULT_KEK_FILE": str(tmp_path / "missing")})
    with pytest.raises(KekError, match="32 bytes"):
        parse_keks(base64.b64encode(b"short").decode())
    url = migrated_url(pg_dsn, "merchant")
    with pytest.raises(KekError, match="needs its key-encryption key"):
        open_vault({"VAULT_URL": url, "VAULT_KEK": "", "VAULT_KEK_FILE": ""})
    vault = open_vault({"VAULT_URL": url, "VAULT_KEK_FILE": str(secret)})
    assert isinstance(vault, PostgresVault)
    vault.close()
    role = runtime_role(pg_dsn)
    with pytest.raises(VaultNotMigrated, match="platformrun.migrate"):
        PostgresVault(postgres_url(pg_dsn, user=role, schema="inspection"), parse_keks(kek))
