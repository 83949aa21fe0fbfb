"""The log lines every process writes (messaging/logs.py): JSON by default off a terminal,
with the process's name and the correlation id of what is being handled."""

from __future__ import annotations

import io
import json
import logging
from types import SimpleNamespace

import pytest
from nameko.events import EventHandler
from nameko.rpc import Rpc

from messaging import logs
from messaging.observability import outcome, worker_correlation_id


@pytest.fixture
def restore_root():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_line_is_one_json_object_with_the_correlation_id(restore_root, monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    out = io.StringIO()  # not a terminal
    logs.configure("escrow", out)
    with logs.correlated("req-1"):
        logging.getLogger("x").info("paid 支付 %s", 3)
    logging.getLogger("x").warning("after")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["message"] == "paid 支付 3" and first["correlation_id"] == "req-1"
    assert {k: first[k] for k in ("level", "logger", "service")} == {
        "level": "INFO",
        "logger": "x",
        "service": "escrow",
    }
    assert first["time"]
    assert second["correlation_id"] is None, "the id does not outlive its block"


def test_log_format_text_is_one_readable_line(restore_root, monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "text")
    out = io.StringIO()
    logs.configure("gateway", out)
    with logs.correlated("req-2"):
        logging.getLogger("y").info("hello")
    line = out.getvalue().strip()
    assert line.endswith("gateway y INFO [req-2] hello") and not line.startswith("{")


def _ctx(entrypoint, data=None, args=()):
    return SimpleNamespace(entrypoint=entrypoint, data=data or {}, args=args)


def test_a_worker_takes_its_id_from_the_context_data_then_the_event():
    rpc = Rpc.__new__(Rpc)
    handler = EventHandler.__new__(EventHandler)
    assert worker_correlation_id(_ctx(rpc, {"correlation_id": "abc"})) == "abc"
    assert worker_correlation_id(_ctx(rpc, {"correlation_id": "bad id!"})) is None
    event = {"metadata": {"correlation_id": "from-event"}}
    assert worker_correlation_id(_ctx(handler, args=(event,))) == "from-event"
    assert worker_correlation_id(_ctx(handler, {"correlation_id": "hdr"}, (event,))) == "hdr"
    assert worker_correlation_id(_ctx(rpc, args=(event,))) is None, "an RPC's args are data"


def test_outcomes():
    try:
        raise KeyError("k")
    except KeyError as exc:
        info = (type(exc), exc, None)
    assert outcome(None, ()) == "ok"
    assert outcome(info, (KeyError,)) == "refused"
    assert outcome(info, (ValueError,)) == "error"


@pytest.mark.parametrize("payload", ["a string", ["a", "list"], {"metadata": "x"}, None, 7])
def test_a_malformed_event_reaches_the_handlers_own_error_path(payload):
    """Whatever an event's body is, the hook never raises (it would kill the container, and
    redelivery would kill the next one): the handler runs and refuses it itself."""
    from nameko.containers import ServiceContainer
    from nameko.events import event_handler

    from messaging.observability import ObservabilityDependency

    class Probe:
        name = "probe"
        observability = ObservabilityDependency()
        seen: list = []

        @event_handler("elsewhere", "happened")
        def handle(self, event):
            Probe.seen.append(event)
            raise ValueError("not an event")

    container = ServiceContainer(Probe, {"AMQP_URI": "memory://"})
    entrypoint = next(e for e in container.entrypoints if e.method_name == "handle")
    results = []

    def handle_result(worker_ctx, result, exc_info):
        results.append(exc_info)
        return result, exc_info

    container.spawn_worker(entrypoint, (payload,), {}, handle_result=handle_result)
    container._worker_pool.waitall()
    assert Probe.seen == [payload], "the handler itself ran"
    assert results and results[0][0] is ValueError, "its own error path"
    assert not container._died.ready(), "the container lives"
    assert worker_correlation_id(_ctx(entrypoint, args=(payload,))) is None
