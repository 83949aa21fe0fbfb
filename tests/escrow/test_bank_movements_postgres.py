"""The simulated bank's statements in the escrow's migrated PostgreSQL schema: every escrow
replica takes a movement once and reads the same statement, as the daily files do on one
machine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.escrow.adapters.bank_choice import choose_bank
from services.escrow.adapters.bank_movements import PostgresMovements, StatementsNotMigrated
from services.escrow.adapters.simulated_bank import SimulatedBank
from tests.support.gateway_state import postgres_url, runtime_role
from tests.support.migrated import migrated_url

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 3, 1, 23, 59, tzinfo=UTC)
T1 = datetime(2026, 3, 2, 0, 1, tzinfo=UTC)


def test_two_replicas_share_one_statement_and_take_each_movement_once(pg_dsn, tmp_path):
    url = migrated_url(pg_dsn, "escrow")
    now = [T0]
    a = choose_bank("demo", None, tmp_path / "unused", lambda: now[0], statement_url=url)
    b = SimulatedBank(PostgresMovements(url), clock=lambda: now[0])
    assert a.request_deposit("pay-1", "card-1", 5000)
    assert b.request_deposit("pay-1", "card-1", 5000), "sent again by the other replica"
    b.payout("po-1", "m-1", 3000)
    now[0] = T1
    a.payout("po-1", "m-1", 3000)  # a retry after midnight: still the first one
    a.refund_to_origin("pay-1", "card-1", 2000)

    files = SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    files.request_deposit("pay-1", "card-1", 5000)
    files.payout("po-1", "m-1", 3000)
    assert a.statement("2026-03-01") == files.statement("2026-03-01"), "same shape as files"
    assert b.statement("2026-03-01") == a.statement("2026-03-01")
    assert [(m["kind"], m["amount"]) for m in b.statement("2026-03-02")] == [("refund", 2000)]
    assert a.statement("2026-03-03") == []
    assert not list(tmp_path.glob("unused*")), "no file is written when the URL is given"


def test_an_unmigrated_schema_is_refused(pg_dsn):
    role = runtime_role(pg_dsn)
    with pytest.raises(StatementsNotMigrated, match="platformrun.migrate"):
        PostgresMovements(postgres_url(pg_dsn, user=role, schema="escrow"))
