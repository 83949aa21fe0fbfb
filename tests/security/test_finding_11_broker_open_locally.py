"""Finding 11: the local broker was open to everyone on the machine.

`make run`'s RabbitMQ node (and the tests') let anyone in as `guest:guest` over loopback, and
its Erlang cookie, which gives full control of the node, was `devenv<port><pid>`: guessable,
and written before it was made private, so another user could read it in between.

Now each node has one user with a random password and no guest, and a random cookie; every
file holding a secret is created with its final mode (owner only) and renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pika
import pytest

from devenv.rabbitmq import RabbitNode
from devenv.secret_files import write_secret

pytestmark = pytest.mark.broker


def connects(uri: str) -> bool:
    try:
        pika.BlockingConnection(pika.URLParameters(uri)).close()
    except pika.exceptions.AMQPConnectionError:
        return False
    return True


def guest_uri(node: RabbitNode) -> str:
    return f"amqp://guest:guest@127.0.0.1:{node.amqp_port}/"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_guest_is_refused_and_the_nodes_own_credentials_work(rabbit_node):
    assert not connects(guest_uri(rabbit_node))
    assert connects(rabbit_node.amqp_uri)
    assert "guest" not in rabbit_node.amqp_uri and len(rabbit_node.password) >= 32


def test_the_cookie_and_credentials_are_random_and_owner_only(rabbit_node):
    base = rabbit_node.base_dir
    cookie = base / "home" / ".erlang.cookie"
    assert mode_of(cookie) == 0o400
    text = cookie.read_text()
    assert str(rabbit_node.amqp_port) not in text and str(os.getpid()) not in text
    assert len(text) >= 32 and len(set(text)) > 8
    saved = json.loads((base / "credentials.json").read_text())
    assert saved["password"] == rabbit_node.password
    for secret in ("credentials.json", "rabbitmq.conf"):
        assert mode_of(base / secret) == 0o600, secret


def test_secret_files_are_born_private_and_never_chmodded(tmp_path, monkeypatch):
    def no_chmod(*args, **kwargs):
        raise AssertionError("a secret file must be created with its mode, not chmodded later")

    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(os, "fchmod", no_chmod)
    monkeypatch.setattr(Path, "chmod", no_chmod)
    old_umask = os.umask(0)  # what the process' umask would let through: everything
    try:
        path = write_secret(tmp_path / "cookie", "s3cret", 0o400)
        replaced = write_secret(tmp_path / "cookie", "n3w", 0o400)
    finally:
        os.umask(old_umask)
    assert path == replaced and mode_of(path) == 0o400 and path.read_text() == "n3w"
    assert [p.name for p in tmp_path.iterdir()] == ["cookie"], "no temporary file left over"


def test_a_node_kept_from_before_loses_its_guest_user():
    """`make run` keeps var/rabbitmq: a node whose data still has guest gets it removed."""
    base = Path(tempfile.mkdtemp(prefix="test-rabbit-kept-"))
    node = RabbitNode(base).start()
    try:
        node.ctl("add_user", "guest", "guest").check_returncode()
        node.ctl("set_permissions", "-p", "/", "guest", ".*", ".*", ".*").check_returncode()
        assert connects(guest_uri(node)), "the old state: guest is in"
        node.stop()
        (base / "credentials.json").unlink()  # as before nodes had credentials
        node = RabbitNode(base, amqp_port=node.amqp_port, node_name=node.node_name).start()
        assert not connects(guest_uri(node))
        assert connects(node.amqp_uri)
    finally:
        node.stop()
        shutil.rmtree(base, ignore_errors=True)
