"""Builds the notary from configuration: the ledger's store, the log's key, the witnesses.

Configuration (the nameko config of the ledger service):
* LEDGER_URL: the ledger in PostgreSQL, `postgresql://user@host:5432/db?schema=ledger`, a
  schema migrated by `python -m platformrun.migrate` (unset: the SQLite file
  LEDGER_DIR/ledger.db);
* LEDGER_DIR: where keys/ lives, and ledger.db when LEDGER_URL is unset (keys/log.key and
  keys/pseudonym.key are created on first start, and keys/*.vkey holds the public keys
  `python -m ledger verify` trusts). With LEDGER_URL the keys are the only files: mount them
  as a secret, the same on every ledger process (the log signs with one key);
* LEDGER_ORIGIN: the checkpoint origin and log key name;
* WITNESSES: a list of {name, url, vkey}; QUORUM: the witness names a checkpoint needs to be
  published (default: all of them, which is bank AND regulator in the platform).
"""

from __future__ import annotations

import os
from pathlib import Path

from ledger.entry import Pseudonyms
from ledger.log import Ledger
from ledger.notary import Notary, WitnessEndpoint
from ledger.note import Signer, Verifier
from services.key_files import load_or_create_key_file

DEFAULT_ORIGIN = "prepaid-trust.local/ledger"


def vkey_file_name(name: str) -> str:
    return name.replace("/", "_") + ".vkey"


def load_or_create_log_key(keys_dir: Path, origin: str) -> Signer:
    key_file = keys_dir / "log.key"
    text = load_or_create_key_file(
        key_file, lambda: f"{Signer.generate(origin).private_text()}\n".encode()
    ).decode()
    signer = Signer.from_private_text(text)
    if signer.name != origin:
        raise ValueError(f"{key_file} belongs to {signer.name!r}, not {origin!r}")
    _write_if_changed(keys_dir / "log.vkey", signer.verifier.vkey() + "\n")
    return signer


def _write_if_changed(path: Path, text: str) -> None:
    """Keys mounted read-only (a secret holding the keys and their .vkey files) are only read."""
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def load_or_create_pseudonym_key(keys_dir: Path) -> Pseudonyms:
    """keys/pseudonym.key: the secret behind consumers' per-merchant pseudonyms in entries.
    Kept with the log's key (losing it only means new entries get new pseudonyms)."""
    text = load_or_create_key_file(
        keys_dir / "pseudonym.key", lambda: f"{os.urandom(32).hex()}\n".encode()
    ).decode()
    return Pseudonyms(bytes.fromhex(text.strip()))


def build_notary(config: dict) -> Notary:
    directory = Path(config.get("LEDGER_DIR", "var/ledger"))
    signer = load_or_create_log_key(directory / "keys", config.get("LEDGER_ORIGIN", DEFAULT_ORIGIN))
    witnesses = []
    for spec in config.get("WITNESSES") or []:
        from ledger.witness_client import WitnessClient

        verifier = Verifier.from_vkey(spec["vkey"])
        _write_if_changed(directory / "keys" / vkey_file_name(spec["name"]), spec["vkey"] + "\n")
        witnesses.append(
            WitnessEndpoint(
                spec["name"], WitnessClient(spec["name"], spec["url"], verifier), spec["vkey"]
            )
        )
    store: str | Path = config.get("LEDGER_URL") or directory / "ledger.db"
    return Notary(
        Ledger.open(store),
        signer,
        witnesses=witnesses,
        quorum=config.get("QUORUM"),
        pseudonyms=load_or_create_pseudonym_key(directory / "keys"),
    )
