"""The platform queues' arguments, and the bounds of what a parked message carries."""

from __future__ import annotations

import dataclasses

import pytest

from messaging import queues
from messaging.health import consumer_health
from policy import PolicyError, load_policy
from policy import __file__ as policy_module

RULES = load_policy().consumers


def test_a_quorum_queue_counts_deliveries_and_dead_letters_to_its_parking_queue():
    assert queues.queue_arguments("evt-a-b--c.d", RULES) == {
        "x-queue-type": "quorum",
        "x-delivery-limit": RULES.delivery_limit,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": "evt-a-b--c.d.parked",
    }
    assert queues.parked_queue_arguments(RULES) == {"x-queue-type": "quorum"}


def test_the_ledgers_queue_has_no_delivery_limit_so_an_outage_never_parks_its_backlog():
    from ledger.service import NOTARY_QUEUE

    assert NOTARY_QUEUE in queues.NEVER_PARKED
    assert queues.queue_arguments(NOTARY_QUEUE, RULES) == {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": NOTARY_QUEUE + ".parked",
    }


def test_a_classic_queue_keeps_the_dead_letter_target_and_no_quorum_arguments():
    classic = dataclasses.replace(RULES, queue_type="classic")
    assert queues.queue_arguments("q", classic) == {
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": "q.parked",
    }
    assert queues.parked_queue_arguments(classic) == {}


def test_the_parking_queue_name_round_trips():
    assert queues.original_queue_name(queues.parked_queue_name("q.x")) == "q.x"
    with pytest.raises(ValueError):
        queues.original_queue_name("q")


def test_failures_so_far_reads_the_quorum_delivery_count():
    assert queues.failures_so_far(None) == 0
    assert queues.failures_so_far({}) == 0
    assert queues.failures_so_far({"x-delivery-count": 3}) == 3
    assert queues.failures_so_far({"x-delivery-count": "3"}) == 0  # not the broker's


def test_bounded_cuts_utf8_at_a_character_boundary():
    assert queues.bounded("short", 10) == "short"
    cut = queues.bounded("原因" * 100, 20)
    assert len(cut.encode()) <= 20 and cut.endswith("…")
    cut.encode().decode("utf-8")  # whole characters only


def test_error_headers_are_bounded_whatever_the_exception_says():
    class Huge(Exception):
        pass

    Huge.__qualname__ = "H" * 1000
    headers = queues.error_headers(Huge("x" * 10_000_000), RULES)
    assert len(headers[queues.PARKED_ERROR].encode()) <= RULES.max_error_bytes
    assert len(headers[queues.PARKED_ERROR_TYPE].encode()) <= queues.MAX_ERROR_TYPE_BYTES
    assert queues.error_headers(ValueError("bad"), RULES) == {
        queues.PARKED_ERROR_TYPE: "builtins.ValueError",
        queues.PARKED_ERROR: "bad",
    }


def test_a_replayed_message_loses_the_parking_and_broker_headers_only():
    headers = {
        "event_id": "e1",
        "nameko.call_id_stack": ["shop.relay.e1"],
        "x-delivery-count": 5,
        "x-death": [{}],
        queues.PARKED_ERROR: "bad",
        queues.PARKED_FROM: "q",
    }
    assert queues.replay_headers(headers) == {
        "event_id": "e1",
        "nameko.call_id_stack": ["shop.relay.e1"],
    }


def test_the_mismatch_hint_names_the_queue_and_the_migration():
    hint = queues.inequivalent_hint("evt-x", RULES)
    assert "'evt-x'" in hint and "delete_queue evt-x" in hint and "quorum" in hint


def test_consumer_health_is_degraded_by_any_parked_message_and_says_what_to_run():
    assert consumer_health({"a": 0})["consumer_status"] == "ok"
    health = consumer_health({"a": 0, "b": 2})
    assert health["consumer_status"] == "degraded"
    assert health["consumer_parked"] == 2 and health["consumer_parked_by_queue"] == {"b": 2}
    assert health["consumer_problems"] == [
        "2 message(s) parked from b: python -m messaging.park list --queue b"
    ]


@pytest.mark.parametrize(
    "edit",
    [
        ('queue_type = "quorum"', 'queue_type = "stream"'),
        ("delivery_limit = 5", "delivery_limit = 0"),
        ("max_error_bytes = 1_024", "max_error_bytes = 0"),
    ],
)
def test_the_policy_refuses_a_bad_consumers_section(tmp_path, edit):
    from pathlib import Path

    text = (Path(policy_module).with_name("policy.v1.toml")).read_text()
    assert edit[0] in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(*edit, 1))
    with pytest.raises(PolicyError):
        load_policy(path)
