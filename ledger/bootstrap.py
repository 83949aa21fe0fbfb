"""Builds the notary from configuration: the ledger file, the log's key, the witnesses.

Configuration (the nameko config of the ledger service):
* LEDGER_DIR: where ledger.db and keys/ live (keys/log.key and keys/pseudonym.key are created
  on first start, and keys/*.vkey holds the public keys `python -m ledger verify` trusts);
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

DEFAULT_ORIGIN = "prepaid-trust.local/ledger"


def vkey_file_name(name: str) -> str:
    return name.replace("/", "_") + ".vkey"


def load_or_create_log_key(keys_dir: Path, origin: str) -> Signer:
    keys_dir.mkdir(parents=True, exist_ok=True)
    key_file = keys_dir / "log.key"
    if key_file.exists():
        signer = Signer.from_private_text(key_file.read_text())
        if signer.name != origin:
            raise ValueError(f"{key_file} belongs to {signer.name!r}, not {origin!r}")
    else:
        signer = Signer.generate(origin)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(signer.private_text() + "\n")
    (keys_dir / "log.vkey").write_text(signer.verifier.vkey() + "\n")
    return signer


def load_or_create_pseudonym_key(keys_dir: Path) -> Pseudonyms:
    """keys/pseudonym.key: the secret behind consumers' per-merchant pseudonyms in entries.
    Kept with the log's key (losing it only means new entries get new pseudonyms)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    key_file = keys_dir / "pseudonym.key"
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Pseudonyms(bytes.fromhex(key_file.read_text().strip()))
    key = os.urandom(32)
    with os.fdopen(fd, "w") as out:
        out.write(key.hex() + "\n")
    return Pseudonyms(key)


def build_notary(config: dict) -> Notary:
    directory = Path(config.get("LEDGER_DIR", "var/ledger"))
    signer = load_or_create_log_key(directory / "keys", config.get("LEDGER_ORIGIN", DEFAULT_ORIGIN))
    witnesses = []
    for spec in config.get("WITNESSES") or []:
        from ledger.witness_client import WitnessClient

        verifier = Verifier.from_vkey(spec["vkey"])
        (directory / "keys" / vkey_file_name(spec["name"])).write_text(spec["vkey"] + "\n")
        witnesses.append(WitnessEndpoint(spec["name"],
                                         WitnessClient(spec["name"], spec["url"], verifier)))
    return Notary(Ledger.open(directory / "ledger.db"), signer, witnesses=witnesses,
                  quorum=config.get("QUORUM"),
                  pseudonyms=load_or_create_pseudonym_key(directory / "keys"))
