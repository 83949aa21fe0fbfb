"""The shared load → decide → commit loop and its retry policy (pure: no store needed)."""

from __future__ import annotations

import pytest

from eventstore.errors import ConcurrencyError
from services.domain_errors import BusinessRuleViolation, Conflict
from services.event_sourcing import NO_RETRY, RetryPolicy, run


class Racing:
    """A commit that loses to a concurrent writer `losses` times, then holds."""

    def __init__(self, losses: int):
        self.losses, self.loads, self.commits = losses, 0, 0

    def load(self) -> int:
        self.loads += 1
        return self.loads  # "the version read"

    def commit(self, version: int, events) -> str:
        self.commits += 1
        if self.commits <= self.losses:
            raise ConcurrencyError("card-1", version, version + 1)
        return f"committed at {version}"


def test_a_decision_with_no_events_commits_nothing():
    racing = Racing(losses=0)
    done = run(racing.load, lambda version: [], racing.commit, NO_RETRY)
    assert (done.aggregate, list(done.events), done.committed) == (1, [], None)
    assert racing.commits == 0


def test_a_lost_race_is_decided_again_on_a_fresh_load_within_the_policy():
    racing = Racing(losses=2)
    done = run(racing.load, lambda version: ["event"], racing.commit, RetryPolicy(3))
    assert done.committed == "committed at 3"
    assert racing.loads == 3


def test_past_the_policy_the_caller_gets_the_policys_conflict():
    racing = Racing(losses=5)
    busy = RetryPolicy(2, "the card is too busy; retry", "card_busy")
    with pytest.raises(Conflict) as refused:
        run(racing.load, lambda version: ["event"], racing.commit, busy)
    assert refused.value.code == "card_busy"
    assert racing.loads == 2


def test_no_retry_answers_version_conflict_after_one_try():
    racing = Racing(losses=1)
    with pytest.raises(Conflict) as refused:
        run(racing.load, lambda version: ["event"], racing.commit, NO_RETRY)
    assert refused.value.code == "version_conflict"
    assert racing.commits == 1


def test_a_refused_decision_passes_through_untouched():
    def refuse(version):
        raise BusinessRuleViolation("no", "merchant_defaulted")

    with pytest.raises(BusinessRuleViolation):
        run(Racing(0).load, refuse, Racing(0).commit, RetryPolicy(5))


def test_a_policy_tries_at_least_once():
    with pytest.raises(ValueError):
        RetryPolicy(0)
