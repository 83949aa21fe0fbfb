"""Two merchant service processes on one migrated PostgreSQL schema, as replicas run: events
and the vault in PostgreSQL (a role that cannot CREATE, the store told never to), the vault's
key-encryption key from the config. A phone sealed by one is read by the other, and an
erasure through one holds in the other."""

from __future__ import annotations

import base64
import os

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from tests.support.harness import start_service, stop, wait_until
from tests.support.merchants import PHONE, application, fresh_uscc
from tests.support.migrated import migrated_url

pytestmark = [pytest.mark.broker, pytest.mark.postgres]


def test_replicas_share_the_vault_and_its_erasures(tmp_path, amqp_uri, pg_dsn):
    url = migrated_url(pg_dsn, "merchant")
    config = {
        "STORE_URL": url + "&create=false",
        "VAULT_URL": url,
        "VAULT_KEK": base64.b64encode(os.urandom(32)).decode(),
    }
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        d.mkdir()
    cluster = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30)
    rpc = cluster.start()

    def replica(n: int):
        process = start_service("merchant", dirs[n], amqp_uri, **config)
        wait_until(lambda: _answers(rpc), timeout=60, what=f"merchant replica {n}")
        return process

    try:
        first = replica(0)
        made = rpc.merchant.apply(application(uscc=fresh_uscc()), "operator:op-1")
        merchant_id = made["merchant_id"]
        stop(first)
        second = replica(1)
        assert rpc.merchant.get(merchant_id, True)["contact_phone"] == PHONE
        rpc.merchant.forget(merchant_id)
        stop(second)
        first = replica(0)
        assert rpc.merchant.get(merchant_id, True)["contact_phone"] is None
        stop(first)
    finally:
        cluster.stop()
    assert not list(tmp_path.rglob("*vault*")), "no vault file beside the processes"


def _answers(rpc) -> bool:
    try:
        return bool(rpc.merchant.health())
    except Exception:
        return False
