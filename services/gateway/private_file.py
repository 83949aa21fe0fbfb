"""Files only the gateway's own user may read (they hold keys, counters, stored responses)."""

from __future__ import annotations

import os
from pathlib import Path


def ensure_private_file(path: str | Path) -> Path:
    """Creates `path` empty with mode 0600 in one step (O_EXCL), so there is no moment at which
    another user could open it; an existing file is narrowed to 0600. SQLite gives its -wal and
    -shm files the database file's mode."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        # A file from an older version may be wider; so may SQLite's companions of it.
        for old in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
            if old.exists() and old.stat().st_mode & 0o077:
                os.chmod(old, 0o600)
    return path
