"""Event factories and a thread starter for tests and benchmarks of the event stores."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from eventstore import NewEvent


def events(n: int, prefix: str = "test.Happened.v1", **data: Any) -> list[NewEvent]:
    return [NewEvent(type=prefix, data={"n": i, **data}) for i in range(n)]


def run_together(n: int, fn: Callable[[int], Any]) -> list:
    """Runs fn(i) in n threads released at the same instant; returns results or exceptions."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return results
