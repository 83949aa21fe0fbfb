"""Builds the notary from configuration: the ledger's store, the log's key, the witnesses.

Configuration (the nameko config of the ledger service):
* LEDGER_URL: the ledger in PostgreSQL, `postgresql://user@host:5432/db?schema=ledger`, a
  schema migrated by `python -m platformrun.migrate` (unset: the SQLite file
  LEDGER_DIR/ledger.db);
* LEDGER_DIR: where keys/ lives, and ledger.db when LEDGER_URL is unset (keys/log.key and
  keys/pseudonym.key are created on first start, and keys/*.vkey holds the public keys
  `python -m ledger verify` trusts). With LEDGER_URL the keys are the only files: mount them
  as a secret, the same on every ledger process (the log signs with one key). They are then
  never created at start: a process missing them would make a log key of its own, whose
  checkpoints no witness accepts, and other pseudonyms. `python -m ledger keys init --dir D`
  makes them once;
* LEDGER_PG_POOL: connections to PostgreSQL at most (default: max_workers + 2);
* LEDGER_ORIGIN: the checkpoint origin and log key name;
* WITNESSES: a list of {name, url, vkey}; QUORUM: the witness names a checkpoint needs to be
  published (default: all of them, which is bank AND regulator in the platform).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ledger.entry import Pseudonyms
from ledger.log import Ledger
from ledger.notary import Notary, WitnessEndpoint
from ledger.note import Signer, Verifier
from services.key_files import MissingKeyFile, load_key_file

DEFAULT_ORIGIN = "prepaid-trust.local/ledger"
NAMEKO_MAX_WORKERS = 10
"""nameko's default max_workers, when the config sets none."""


class MissingLedgerKeys(RuntimeError):
    """LEDGER_URL is set and LEDGER_DIR/keys lacks a key: nothing was created."""


@dataclass(frozen=True)
class LedgerKeys:
    signer: Signer
    pseudonyms: Pseudonyms


def vkey_file_name(name: str) -> str:
    return name.replace("/", "_") + ".vkey"


def load_or_create_log_key(keys_dir: Path, origin: str, *, create: bool = True) -> Signer:
    key_file = keys_dir / "log.key"
    text = load_key_file(
        key_file,
        lambda: f"{Signer.generate(origin).private_text()}\n".encode(),
        create=create,
        what="log signing key (the log's identity)",
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


def load_or_create_pseudonym_key(keys_dir: Path, *, create: bool = True) -> Pseudonyms:
    """keys/pseudonym.key: the secret behind consumers' per-merchant pseudonyms in entries.
    Kept with the log's key (losing it only means new entries get new pseudonyms)."""
    text = load_key_file(
        keys_dir / "pseudonym.key",
        lambda: f"{os.urandom(32).hex()}\n".encode(),
        create=create,
        what="pseudonym key (the secret behind consumers' pseudonyms)",
    ).decode()
    return Pseudonyms(bytes.fromhex(text.strip()))


def init_keys(keys_dir: Path, origin: str = DEFAULT_ORIGIN) -> Signer:
    """Makes the ledger's keys in `keys_dir` once (existing ones are kept): log.key, its
    log.vkey and pseudonym.key. Returns the log's signer."""
    load_or_create_pseudonym_key(keys_dir)
    return load_or_create_log_key(keys_dir, origin)


def load_keys(config: dict) -> LedgerKeys:
    """The log's and the pseudonyms' keys from LEDGER_DIR/keys. Created there on first start
    when the ledger is a file of that directory; with LEDGER_URL, only read."""
    keys_dir = Path(config.get("LEDGER_DIR", "var/ledger")) / "keys"
    create = not config.get("LEDGER_URL")
    try:
        return LedgerKeys(
            load_or_create_log_key(
                keys_dir, config.get("LEDGER_ORIGIN", DEFAULT_ORIGIN), create=create
            ),
            load_or_create_pseudonym_key(keys_dir, create=create),
        )
    except MissingKeyFile as missing:
        raise MissingLedgerKeys(
            f"LEDGER_DIR/keys ({keys_dir}) lacks a key, and with LEDGER_URL set none is made"
            " at start (this process would sign as a log no witness knows): make the keys"
            f" once with `python -m ledger keys init --dir DIR` and give every ledger process"
            f" the same copy. {missing}"
        ) from None


def build_notary(config: dict, keys: LedgerKeys | None = None) -> Notary:
    directory = Path(config.get("LEDGER_DIR", "var/ledger"))
    keys = keys or load_keys(config)
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
    pool_size = config.get("LEDGER_PG_POOL") or (
        int(config.get("max_workers") or NAMEKO_MAX_WORKERS) + 2
    )
    return Notary(
        Ledger.open(store, pool_size=int(pool_size)),
        keys.signer,
        witnesses=witnesses,
        quorum=config.get("QUORUM"),
        pseudonyms=keys.pseudonyms,
    )
