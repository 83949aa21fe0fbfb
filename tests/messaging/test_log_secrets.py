"""No broker or database password reaches a log line: every URL in a record is masked, the
second and third of a cluster's `amqp://a;amqp://b;amqp://c` as well as the first (nameko and
kombu mask only the first)."""

from __future__ import annotations

import io
import json
import logging
from types import SimpleNamespace

import pytest
from nameko.messaging import QueueConsumer

from messaging import logs

CLUSTER_URI = (
    "amqp://platform:first-secret@127.0.0.1:5672/;"
    "amqp://platform:second-secret@127.0.0.1:5673/;"
    "amqp://platform:third-secret@127.0.0.1:5674/"
)
SECRETS = ("first-secret", "second-secret", "third-secret")


@pytest.fixture
def restore_root():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _nameko_cannot_connect() -> None:
    # nameko's own line, as its queue consumer logs it for every failed connection attempt.
    consumer = SimpleNamespace(amqp_uri=CLUSTER_URI)
    QueueConsumer.on_connection_error(consumer, ConnectionRefusedError(111, "refused"), 2)


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_nameko_cannot_connect_line_carries_no_password(restore_root, monkeypatch, log_format):
    monkeypatch.setenv("LOG_FORMAT", log_format)
    out = io.StringIO()
    logs.configure("escrow", out)
    _nameko_cannot_connect()
    line = out.getvalue()
    assert "Error connecting to broker" in line
    assert not [secret for secret in SECRETS if secret in line], line
    # What remains still says where: every node, its user, its port.
    for port in ("5672", "5673", "5674"):
        assert f"platform:{logs.MASK}@127.0.0.1:{port}" in line


def test_a_traceback_and_arguments_carry_no_password(restore_root, monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")
    out = io.StringIO()
    logs.configure("ledger", out)
    try:
        raise ConnectionError(f"cannot reach {CLUSTER_URI}")
    except ConnectionError:
        logging.getLogger("x").exception("store %s away", "postgresql://app:db-secret@db:5432/p")
    record = json.loads(out.getvalue())
    assert "db-secret" not in record["message"] and "app:********@db" in record["message"]
    assert "cannot reach amqp://platform:********@" in record["exc_info"]
    assert not [secret for secret in SECRETS if secret in out.getvalue()]


def test_a_nameko_logging_config_with_its_own_formatter_is_masked_too(restore_root):
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logs.add_context("risk")
    _nameko_cannot_connect()
    assert "Error connecting to broker" in out.getvalue()
    assert not [secret for secret in SECRETS if secret in out.getvalue()], out.getvalue()


def test_text_without_urls_is_left_alone():
    for text in ("paid 3 fen at 12:30", "a:b@c without a scheme", "http://host:8000/path"):
        assert logs.redact_urls(text) == text


def test_a_password_with_a_comma_or_an_apostrophe_is_masked_whole():
    # Both are legal in a URL's userinfo; a mask that stopped at them left the password clear.
    for password in ("pa,ss", "it's", "a,b'c"):
        text = f"cannot reach amqp://u:{password}@host:5672/ now"
        assert logs.redact_urls(text) == f"cannot reach amqp://u:{logs.MASK}@host:5672/ now"


def test_a_call_with_mismatched_arguments_does_not_raise_into_the_caller(restore_root, capsys):
    # logging's handleError guards the format step only; the filter renders the message first.
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logs.add_context("risk")
    logging.getLogger("x").info("two %s %s", CLUSTER_URI)  # must not raise
    logging.getLogger("x").info("fine %s", "after")
    assert "fine after" in out.getvalue()
    # handleError's report on stderr names the arguments: masked too.
    reported = capsys.readouterr().err
    assert "Arguments" in reported and not [s for s in SECRETS if s in reported], reported
