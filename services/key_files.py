"""Private key files: written once, readable by their owner only, and never seen half-written.

A new key goes to a temporary file created with mode 0600 (O_CREAT | O_EXCL, then fchmod so the
umask cannot change it), is synced, and is then hard-linked to its final name. The link either
makes the complete file appear under that name or fails because a file is already there:
* a reader never finds a key file half-written, as it could between creating the final file
  and writing it, and a crash mid-write leaves only a temporary file no one reads as the key;
* of two processes creating the same key at once, the first to link wins, and the other reads
  the winner's key instead of failing or overwriting it;
* an existing key is never replaced.

The gateway's token key, the risk service's credit-report key, the inspection service's
merchant-code key, and the ledger's log, pseudonym and witness keys are all made this way.

A witness's key is made whenever missing (its single replica's own). The ledger's are made
when missing only for a ledger in a SQLite file (`make run`, one LEDGER_DIR); with LEDGER_URL
they are only read (`python -m ledger keys init` makes them once; in deploy/k8s they come
from Secret ledger-keys), so a standby on another machine never signs with a key of its own.
The risk service's and the inspection service's keys are made only in demo mode (`make run`,
the tests): in production they come from a mounted Secret, and `load_key_file(...,
create=False)` refuses to make one, because two replicas starting at once on their own
volumes would each make a key, a split identity. The gateway's token key, too,
is never made by a gateway starting in production (`python -m services.gateway.signing_key`
makes it, once, for the Secret).
Below every service and the ledger in the layers, so that each of them may use it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def create_key_file(path: str | Path, content: bytes) -> bool:
    """Creates `path` holding `content` with mode 0600, unless a file is there. True if this
    call created it; False if one already existed, which is left exactly as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            os.fchmod(out.fileno(), 0o600)  # whatever the umask
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        _sync_directory(path.parent)  # the new name survives a crash, like the content
        return True
    finally:
        temporary.unlink(missing_ok=True)


def load_or_create_key_file(path: str | Path, new_content: Callable[[], bytes]) -> bytes:
    """The content of the key file at `path`, created from `new_content()` first if there is
    none (and if another process created it meanwhile, the content that process wrote)."""
    path = Path(path)
    if not path.exists():
        create_key_file(path, new_content())
    return path.read_bytes()


class MissingKeyFile(FileNotFoundError):
    """A key that must be provided (a mounted Secret) is not there; nothing was created."""


def load_key_file(
    path: str | Path, new_content: Callable[[], bytes], *, create: bool, what: str = "key"
) -> bytes:
    """The key file at `path`. When there is none: created as `load_or_create_key_file` does
    if `create`, else MissingKeyFile naming the file and what it is for."""
    path = Path(path)
    if create:
        return load_or_create_key_file(path, new_content)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MissingKeyFile(
            f"{path}: no {what}. In production it is never created here (each replica would"
            " make its own): mount it from a Secret."
        ) from None


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
