"""Files that hold secrets (broker passwords, Erlang cookies, configs naming them): readable by
their owner only from the moment they exist, and replaced in one step.

The content goes to a new temporary file created with its final mode (O_CREAT | O_EXCL), then
renamed over the destination: no moment when another user could read it, as there is between
writing a file and a later chmod, and no reader ever sees half a file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_secret(path: str | Path, content: str, mode: int = 0o600) -> Path:
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
