"""What every person-key vault does, the file vault and the PostgreSQL one alike. PostgreSQL
runs as production has it: the schema migrated by its owner, the vault a role without CREATE,
its key-encryption key given to it and never stored in the database."""

from __future__ import annotations

import base64
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.exceptions import InvalidTag

from privacy import Forgotten, Vault
from privacy.kek import parse_keks
from privacy.postgres import PostgresVault
from tests.support.migrated import migrated_url

KEK = base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(params=["file", pytest.param("postgresql", marks=pytest.mark.postgres)])
def open_vault(request, tmp_path):
    """Opens the same vault again, as another replica (or a restart) would."""
    opened: list[Vault] = []
    if request.param == "file":

        def make():
            opened.append(Vault(tmp_path / "vault.db"))
            return opened[-1]
    else:
        url = migrated_url(request.getfixturevalue("pg_dsn"), "merchant")

        def make():
            opened.append(PostgresVault(url, parse_keks(KEK)))
            return opened[-1]

    yield make
    for vault in opened:
        vault.close()


def test_round_trip_bound_to_subject_and_purpose(open_vault):
    vault = open_vault()
    token = vault.encrypt("m-1", "contact_phone", "13812345678")
    assert "13812345678" not in token and token.startswith("pd1.")
    assert vault.decrypt("m-1", "contact_phone", token) == "13812345678"
    assert vault.encrypt("m-1", "contact_phone", "13812345678") != token, "fresh nonce"
    vault.encrypt("m-2", "contact_phone", "x")
    with pytest.raises(InvalidTag):
        vault.decrypt("m-2", "contact_phone", token)
    with pytest.raises(InvalidTag):
        vault.decrypt("m-1", "complaint_text", token)
    with pytest.raises(Forgotten):
        vault.decrypt("m-3", "contact_phone", token), "no key was ever made for m-3"


def test_a_second_instance_sees_the_first_ones_keys_and_erasures(open_vault):
    a, b = open_vault(), open_vault()
    token = a.encrypt("c-1", "phone", "13900001111")
    assert b.decrypt("c-1", "phone", token) == "13900001111"
    other = b.encrypt("c-2", "phone", "13900002222")
    assert a.decrypt("c-2", "phone", other) == "13900002222"
    b.forget("c-1")
    with pytest.raises(Forgotten):
        a.decrypt("c-1", "phone", token)
    with pytest.raises(Forgotten):
        a.encrypt("c-1", "phone", "again"), "a forgotten subject stays forgotten everywhere"
    assert a.decrypt("c-2", "phone", other) == "13900002222", "others are untouched"
    b.forget("c-1")  # twice is harmless
    later = open_vault()
    with pytest.raises(Forgotten):
        later.decrypt("c-1", "phone", token)


def test_instances_racing_to_make_a_subjects_first_key_agree_on_one(open_vault):
    vaults = [open_vault() for _ in range(3)]
    subjects = [f"s-{n}" for n in range(6)]

    def seal(n: int) -> tuple[str, str]:
        subject = subjects[n % len(subjects)]
        return subject, vaults[n % 3].encrypt(subject, "p", f"text-{subject}")

    with ThreadPoolExecutor(6) as pool:
        tokens = list(pool.map(seal, range(36)))
    for n, (subject, token) in enumerate(tokens):
        assert vaults[(n + 1) % 3].decrypt(subject, "p", token) == f"text-{subject}"


def test_erasure_racing_with_a_first_encryption_leaves_no_key(open_vault):
    a, b = open_vault(), open_vault()
    for n in range(10):
        subject = f"race-{n}"
        with ThreadPoolExecutor(2) as pool:
            sealed = pool.submit(lambda s=subject: _try_seal(a, s))
            pool.submit(b.forget, subject).result()
            sealed.result()
        with pytest.raises(Forgotten):
            a.encrypt(subject, "p", "after")
        with pytest.raises(Forgotten):
            b.encrypt(subject, "p", "after")


def _try_seal(vault: Vault, subject: str) -> str | None:
    try:
        return vault.encrypt(subject, "p", "x")
    except Forgotten:
        return None
