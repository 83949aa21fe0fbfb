"""Two ledger processes on one ledger directory: only the lease holder consumes and appends;
killed, the standby takes over, and the ledger verifies with every event once."""

from __future__ import annotations

import base64
import os
import signal

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from ledger.entry import parse_entry
from ledger.note import Verifier
from ledger.verify import verify_ledger
from tests.support.harness import start_nameko, stop, wait_until
from tests.support.ledger_events import payloads, publish

pytestmark = [pytest.mark.broker, pytest.mark.slow]

LOGGING = {
    "version": 1,
    "handlers": {"out": {"class": "logging.StreamHandler"}},
    "loggers": {"ledger.service": {"level": "INFO", "handlers": ["out"]}},
}


def start_ledger(tmp_path, amqp_uri, name: str, **config):
    workdir = tmp_path / name
    workdir.mkdir()
    process = start_nameko(
        "ledger.service:LedgerService",
        {
            "AMQP_URI": amqp_uri,
            "LEDGER_DIR": str(tmp_path / "ledger"),
            "LEDGER_BATCH_MAX": 20,
            "LOGGING": LOGGING,
            **config,
        },
        workdir,
    )
    return process, workdir / "service:LedgerService.log"


def size(proxy) -> int:
    try:
        return proxy.ledger.health()["size"]
    except Exception:  # noqa: BLE001 - no ledger answers yet
        return -1


def run_failover(tmp_path, amqp_uri, **config):
    first, first_log = start_ledger(tmp_path, amqp_uri, "a", **config)
    rpc = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=10)
    proxy = rpc.start()
    second = None
    try:
        wait_until(lambda: size(proxy) == 0, timeout=60, what="the first ledger")
        second, second_log = start_ledger(tmp_path, amqp_uri, "b", **config)
        wait_until(
            lambda: "standby" in second_log.read_text(), timeout=60, what="the standby waiting"
        )
        events = payloads(200)
        publish(amqp_uri, events[:100])
        wait_until(lambda: size(proxy) == 100, what="100 entries from the first ledger")
        assert "writer lease taken" not in second_log.read_text()
        publish(amqp_uri, events[100:])
        os.kill(first.pid, signal.SIGKILL)  # with some of the rest unacked or in a batch
        first.wait(timeout=10)
        wait_until(
            lambda: "writer lease taken" in second_log.read_text(),
            timeout=60,
            what="the standby taking the lease",
        )
        wait_until(lambda: size(proxy) == 200, timeout=60, what="every event in the ledger")
        publish(amqp_uri, events[150:160])  # redelivered ones are not appended again
        marker = payloads(1)
        publish(amqp_uri, marker)
        wait_until(lambda: proxy.ledger.receipt(marker[0].event_id), what="the marker")
        entries = proxy.ledger.entries(0, 300)
        ids = [parse_entry(base64.b64decode(e["entry"]))["event"]["id"] for e in entries]
        assert len(ids) == len(set(ids)) == 201
        assert set(ids) == {e.event_id for e in events + marker}
        assert "writer lease taken" in first_log.read_text()
    finally:
        rpc.stop()
        for process in (first, second):
            if process is not None:
                stop(process)
    keys = tmp_path / "ledger" / "keys"
    report = verify_ledger(
        tmp_path / "ledger" / "ledger.db", [Verifier.from_vkey((keys / "log.vkey").read_text())]
    )
    assert report.ok, report


def test_a_file_lock_keeps_one_writer_and_the_standby_takes_over(tmp_path, amqp_uri):
    run_failover(tmp_path, amqp_uri)


@pytest.mark.postgres
def test_a_lease_row_keeps_one_writer_and_the_standby_takes_over(tmp_path, amqp_uri, pg_dsn):
    from tests.support.gateway_state import postgres_url

    run_failover(
        tmp_path,
        amqp_uri,
        LEDGER_LEASE_URL=postgres_url(pg_dsn, schema="ledger"),
        LEDGER_LEASE_SECONDS=3,
    )
