"""A store that is away holds a consumer's message, retried in place; it never counts as the
message failing (which would park every message a short database outage touched)."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from eventstore.errors import StoreUnavailable, store_unavailable
from messaging.consumer import while_store_is_away


def real_sqlite_error(tmp_path, sql: str) -> sqlite3.OperationalError:
    path = tmp_path / "db.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute(sql)
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        other.close()
    raise AssertionError(f"{sql!r} did not fail")


def test_locked_and_disconnected_stores_are_away_and_bugs_are_not(tmp_path):
    assert store_unavailable(real_sqlite_error(tmp_path, "BEGIN IMMEDIATE"))  # locked
    assert not store_unavailable(real_sqlite_error(tmp_path, "SELECT * FROM missing"))
    assert store_unavailable(psycopg.OperationalError("connection refused"))
    assert store_unavailable(StoreUnavailable("deadline"))
    assert not store_unavailable(ValueError("bad event"))
    assert not store_unavailable(psycopg.errors.UniqueViolation("duplicate"))


def test_the_work_is_tried_again_while_the_store_is_away_with_growing_pauses(tmp_path):
    locked = real_sqlite_error(tmp_path, "BEGIN IMMEDIATE")
    outcomes: list = [locked] * 9 + ["done"]
    pauses: list[float] = []

    def apply():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert while_store_is_away(apply, "svc.on_x", sleep=pauses.append) == "done"
    assert outcomes == []
    assert pauses == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0]


def test_a_failure_of_the_message_itself_is_raised_at_once():
    calls = []

    def apply():
        calls.append(1)
        raise KeyError("merchant_id")

    with pytest.raises(KeyError):
        while_store_is_away(apply, "svc.on_x", sleep=lambda _: pytest.fail("no pause"))
    assert calls == [1]
