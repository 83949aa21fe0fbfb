"""The evidence file store: a rectification's photos and documents, kept content-addressed.

A file lives at `<dir>/<first two hex digits>/<sha256>`, written once: to a temporary file in
the same directory, synced, then linked into place, so a reader never sees half a file and
two uploads of the same bytes race harmlessly (the second finds it there). Beside it,
`<sha256>.by` lists who uploaded it, one `role:subject` a line, which decides which merchant
may read it back. The name is the SHA-256 the client claims and the store checks: the only
names ever joined to the directory are 64 lowercase hex digits, so no path can escape it.

The services keep only the fingerprint (an event's `evidence_sha256`); the file stays here,
with the gateway, like the idempotency store. Files are private to the gateway's user.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 64 * 1024


class EvidenceMismatch(ValueError):
    """The bytes are not the file the name claims (their SHA-256 differs)."""

    def __init__(self, actual: str):
        super().__init__(f"the body's SHA-256 is {actual}")
        self.actual = actual


class EvidenceEmpty(ValueError):
    """No bytes: not a file anyone can look at."""


class EvidenceStore:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def _path(self, sha256: str) -> Path:
        if not SHA256_HEX.fullmatch(sha256):
            raise ValueError("an evidence file is named by its SHA-256: 64 lowercase hex digits")
        return self.directory / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def names(self) -> Iterator[str]:
        """The SHA-256 of every file stored (not the uploader lists or temporary files)."""
        for path in sorted(self.directory.glob("??/*")):
            if SHA256_HEX.fullmatch(path.name) and path.parent.name == path.name[:2]:
                yield path.name

    def uploaders(self, sha256: str) -> set[str]:
        try:
            text = self._path(sha256).with_name(f"{sha256}.by").read_text(encoding="utf-8")
        except FileNotFoundError:
            return set()
        return {line for line in text.splitlines() if line}

    def put(self, sha256: str, body: IO[bytes], uploader: str) -> bool:
        """Stores the bytes read from `body` under `sha256`, checking they hash to it; True
        when they were new, False when the file was already here. The uploader is recorded
        either way. EvidenceMismatch (nothing stored) for bytes of another SHA-256."""
        path = self._path(sha256)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        chunks = _chunks(body)
        first = next(chunks, b"")
        if not first:
            raise EvidenceEmpty("an evidence file has at least one byte")
        chunks = itertools.chain((first,), chunks)
        created = False
        if not path.is_file():
            created = self._write(path, sha256, chunks)
        else:
            # Already here: the body must still be the file it names.
            digest = hashlib.sha256()
            for chunk in chunks:
                digest.update(chunk)
            if digest.hexdigest() != sha256:
                raise EvidenceMismatch(digest.hexdigest())
        if uploader not in self.uploaders(sha256):
            self._record_uploader(path.with_name(f"{sha256}.by"), uploader)
        return created

    def open(self, sha256: str) -> IO[bytes]:
        """The file for reading; FileNotFoundError when there is none."""
        return self._path(sha256).open("rb")

    def _write(self, path: Path, sha256: str, chunks: Iterable[bytes]) -> bool:
        digest = hashlib.sha256()
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise EvidenceMismatch(digest.hexdigest())
            try:
                os.link(temporary, path)  # never replaces: the first complete file stays
            except FileExistsError:
                return False
            return True
        finally:
            os.unlink(temporary)

    @staticmethod
    def _record_uploader(path: Path, uploader: str) -> None:
        if "\n" in uploader:
            raise ValueError("an uploader is one line")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            # One short write with O_APPEND: concurrent uploaders' lines do not interleave.
            os.write(fd, f"{uploader}\n".encode())
        finally:
            os.close(fd)


def _chunks(body: IO[bytes]) -> Iterator[bytes]:
    while chunk := body.read(CHUNK):
        yield chunk
