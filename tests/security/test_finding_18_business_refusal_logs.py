"""Finding 18: expected business refusals were logged at ERROR with a traceback.

A 422 (say, a product for a merchant that may not sell), a 404 or a 400 is a service
answering as the rules say, raised as a domain error over RPC; nameko logged each one as
`error handling worker` at ERROR with a full traceback, drowning real failures. Now each is
one WARNING line without a traceback, while an unexpected exception keeps ERROR and its
traceback. Checked on real merchant, escrow and risk services, from their log records,
with the logging configuration of deploy/nameko.yaml (which, before, silenced nameko's own
loggers altogether: its worker errors were not logged at all in compose and Kubernetes).
"""

from __future__ import annotations

import re

import pytest
import yaml
from nameko.standalone.rpc import ClusterRpcProxy

from services.remote_errors import ServiceError
from tests.support.harness import ROOT, start_service, stop, wait_until
from tests.support.merchants import application

pytestmark = pytest.mark.broker

MARK = "@@record@@"


def logging_config(path) -> dict:
    """The services' LOGGING from deploy/nameko.yaml, its handler writing marked records to
    `path` instead of the console."""
    config = yaml.safe_load((ROOT / "deploy" / "nameko.yaml").read_text())["LOGGING"]
    config["formatters"] = {"marked": {"format": f"{MARK} %(levelname)s %(name)s %(message)s"}}
    config["handlers"] = {
        "file": {"class": "logging.FileHandler", "filename": str(path), "formatter": "marked"}
    }
    config["root"]["handlers"] = ["file"]
    return config


def records(path) -> list[tuple[str, str]]:
    """(level, text with any traceback) of each record."""
    text = path.read_text() if path.exists() else ""
    return [(chunk.split(" ", 1)[0], chunk) for chunk in text.split(MARK + " ")[1:]]


def worker_errors(path, method: str) -> list[tuple[str, str]]:
    return [
        (level, text)
        for level, text in records(path)
        if re.search(rf"error handling worker <WorkerContext \[\w+\.{method}\]", text)
    ]


@pytest.fixture
def services(tmp_path, amqp_uri):
    logs = {name: tmp_path / f"{name}-records.log" for name in ("merchant", "escrow", "risk")}
    started = [
        start_service(name, tmp_path, amqp_uri, LOGGING=logging_config(logs[name])) for name in logs
    ]
    proxy = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30)
    rpc = proxy.start()
    wait_until(
        lambda: all(_answers(rpc, name) for name in logs),
        timeout=60,
        what="the merchant, escrow and risk services",
    )
    yield rpc, logs
    proxy.stop()
    for process in started:
        stop(process)


def _answers(rpc, name) -> bool:
    try:
        return getattr(rpc, name).health()["status"] == "ok"
    except Exception:  # noqa: BLE001 - not up yet
        return False


def refused(call) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value


def test_refusals_are_one_warning_line_and_failures_keep_error_with_traceback(services):
    rpc, logs = services
    pending = rpc.merchant.apply(application(), "operator:op-1")["merchant_id"]
    not_selling = refused(
        lambda: rpc.merchant.create_product(
            pending,
            {
                "type": "count",
                "name": "10 lessons",
                "price": 80_000,
                "uses": 10,
                "validity_days": 180,
            },
        )
    )
    assert not_selling.kind == "business_rule", "a 422"
    assert refused(lambda: rpc.merchant.get("m-none")).kind == "not_found"
    assert refused(lambda: rpc.escrow.refund("card-none", "c-1")).kind == "not_found"
    assert refused(lambda: rpc.risk.get_complaint("cmp-none")).kind == "not_found"
    with pytest.raises(Exception) as unexpected:  # a bug: ** of a string
        rpc.merchant.apply("not a mapping", "operator:op-1")
    assert not isinstance(unexpected.value, ServiceError)

    for service, method in [
        ("merchant", "create_product"),
        ("merchant", "get"),
        ("escrow", "refund"),
        ("risk", "get_complaint"),
    ]:
        found = wait_until(
            lambda s=service, m=method: worker_errors(logs[s], m),
            timeout=15,
            what=f"{service}.{method}'s record",
        )
        assert [level for level, _ in found] == ["WARNING"], found
        assert "Traceback" not in found[0][1], found[0][1]
        assert "(expected)" in found[0][1]

    [(level, text)] = wait_until(
        lambda: worker_errors(logs["merchant"], "apply"),
        timeout=15,
        what="the unexpected failure's record",
    )
    assert level == "ERROR"
    assert "Traceback (most recent call last)" in text and "TypeError" in text
