"""Two ledger processes: only the lease holder consumes and appends; killed (SIGKILL), the
standby takes over, and the ledger verifies with every event once. On one ledger directory
(the SQLite file, a file lock or a lease row), or with the ledger in PostgreSQL (LEDGER_URL)
and the lease row beside it, where the two processes share no directory: each has its own
LEDGER_DIR holding only a copy of the same keys (the mounted secret in production)."""

from __future__ import annotations

import base64
import os
import shutil
import signal

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from ledger.bootstrap import init_keys
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


def start_ledger(tmp_path, amqp_uri, name: str, ledger_dir=None, **config):
    workdir = tmp_path / name
    workdir.mkdir()
    process = start_nameko(
        "ledger.service:LedgerService",
        {
            "AMQP_URI": amqp_uri,
            "LEDGER_DIR": str(ledger_dir or tmp_path / "ledger"),
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


def run_failover(tmp_path, amqp_uri, *, own_dirs: bool = False, **config):
    dirs = [tmp_path / "ledger-a", tmp_path / "ledger-b"] if own_dirs else [tmp_path / "ledger"] * 2
    if config.get("LEDGER_URL"):  # a shared ledger's processes never make keys: made once here
        init_keys(dirs[0] / "keys")
    first, first_log = start_ledger(tmp_path, amqp_uri, "a", dirs[0], **config)
    rpc = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=10)
    proxy = rpc.start()
    second = None
    try:
        wait_until(lambda: size(proxy) == 0, timeout=60, what="the first ledger")
        if own_dirs:
            shutil.copytree(dirs[0] / "keys", dirs[1] / "keys")
        second, second_log = start_ledger(tmp_path, amqp_uri, "b", dirs[1], **config)
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
    ledger_dir = dirs[0]
    location = config.get("LEDGER_URL") or ledger_dir / "ledger.db"
    keys = ledger_dir / "keys"
    report = verify_ledger(location, [Verifier.from_vkey((keys / "log.vkey").read_text())])
    assert report.ok, report
    assert report.size == 201
    if own_dirs:
        assert not [p for d in dirs for p in d.iterdir() if p.name != "keys"]


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


@pytest.mark.postgres
def test_a_ledger_in_postgres_fails_over_to_a_process_sharing_no_directory(
    tmp_path, amqp_uri, pg_dsn
):
    from tests.support.migrated import migrated_url

    url = migrated_url(pg_dsn, "ledger")  # the ledger's tables and its lease row's
    run_failover(
        tmp_path,
        amqp_uri,
        own_dirs=True,
        LEDGER_URL=url,
        LEDGER_LEASE_URL=url,
        LEDGER_LEASE_SECONDS=3,
    )
