import pytest
from cryptography.exceptions import InvalidTag

from privacy import Forgotten, Vault, mask_phone


def test_round_trip_binding_and_crypto_shredding(tmp_path):
    vault = Vault(tmp_path / "keys.db")
    token = vault.encrypt("m-1", "contact_phone", "13812345678")
    assert "13812345678" not in token and token.startswith("pd1.")
    assert vault.decrypt("m-1", "contact_phone", token) == "13812345678"
    assert vault.encrypt("m-1", "contact_phone", "13812345678") != token, "fresh nonce"
    vault.encrypt("m-2", "contact_phone", "x")
    with pytest.raises(InvalidTag):
        vault.decrypt("m-2", "contact_phone", token)  # another person's key
    with pytest.raises(InvalidTag):
        vault.decrypt("m-1", "complaint_text", token)  # another purpose
    vault.forget("m-1")
    with pytest.raises(Forgotten):
        vault.decrypt("m-1", "contact_phone", token)
    with pytest.raises(Forgotten):
        vault.encrypt("m-1", "contact_phone", "new")  # a forgotten subject stays forgotten
    vault.close()
    reopened = Vault(tmp_path / "keys.db")
    with pytest.raises(Forgotten):
        reopened.decrypt("m-1", "contact_phone", token)
    assert b"13812345678" not in (tmp_path / "keys.db").read_bytes()


@pytest.mark.parametrize(
    "phone, masked",
    [("13812345678", "*******5678"), ("+8613812345678", "+*********5678"), ("123", "***")],
)
def test_mask(phone, masked):
    assert mask_phone(phone) == masked


def test_the_key_file_is_for_its_owner_only(tmp_path):
    vault = Vault(tmp_path / "vault.db")
    vault.encrypt("c-1", "phone", "13812345678")
    for name in ("vault.db", "vault.db-wal"):
        assert (tmp_path / name).stat().st_mode & 0o077 == 0, name
    vault.close()
