"""services/key_files.py: a key file appears complete, private and once, or not at all."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from services import key_files
from services.key_files import create_key_file, load_or_create_key_file


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_key_file_is_0600_whatever_the_umask_and_in_a_new_directory(tmp_path):
    old = os.umask(0o277)  # would leave 0400 to a plain create
    try:
        assert create_key_file(tmp_path / "keys" / "log.key", b"secret\n") is True
    finally:
        os.umask(old)
    assert (tmp_path / "keys" / "log.key").read_bytes() == b"secret\n"
    assert mode(tmp_path / "keys" / "log.key") == 0o600
    assert os.listdir(tmp_path / "keys") == ["log.key"], "no temporary file is left behind"


def test_an_existing_key_is_never_replaced_and_is_what_load_returns(tmp_path):
    key = tmp_path / "signing.pem"
    assert load_or_create_key_file(key, lambda: b"first") == b"first"
    assert create_key_file(key, b"second") is False
    made = []
    assert load_or_create_key_file(key, lambda: made.append(1) or b"third") == b"first"
    assert key.read_bytes() == b"first" and made == [], "no new key is even generated"


def test_a_temporary_file_left_by_a_crash_is_never_taken_as_the_key(tmp_path):
    key = tmp_path / "log.key"
    (tmp_path / ".log.key.0123456789abcdef.tmp").write_bytes(b"half a k")
    assert load_or_create_key_file(key, lambda: b"a whole key\n") == b"a whole key\n"


def test_a_crash_while_writing_leaves_no_key_file(tmp_path, monkeypatch):
    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(key_files.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        create_key_file(tmp_path / "log.key", b"a whole key\n")
    assert os.listdir(tmp_path) == [], "neither the key nor its temporary file"


def test_of_two_processes_creating_a_key_at_once_both_get_the_winners(tmp_path, monkeypatch):
    key = tmp_path / "witness.key"
    both_written = threading.Barrier(2)
    real_link = os.link

    def link_when_both_wrote(src, dst):
        both_written.wait(timeout=10)  # each has its own complete temporary file by now
        return real_link(src, dst)

    monkeypatch.setattr(key_files.os, "link", link_when_both_wrote)
    results: dict[str, bytes] = {}

    def start(name: str) -> None:
        results[name] = load_or_create_key_file(key, lambda: name.encode())

    threads = [threading.Thread(target=start, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert results["a"] == results["b"] == key.read_bytes() in (b"a", b"b")
    assert mode(key) == 0o600 and os.listdir(tmp_path) == ["witness.key"]
