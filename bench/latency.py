"""Latency figures the suites share: timed gateway reads and nearest-rank percentiles."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest rank: the smallest sample with at least `fraction` of the samples at or below."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def timed_gets(
    client,
    headers: dict,
    url: str,
    count: int,
    *,
    warm: int = 0,
    check: Callable[[dict], object] = lambda body: None,
) -> list[float]:
    """`count` GETs of `url`, after `warm` untimed ones, each answered 200 and passed to
    `check`; their durations in seconds, sorted."""
    for _ in range(warm):
        client.get(url, headers=headers)
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        answer = client.get(url, headers=headers)
        timings.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.get_json()
        check(answer.get_json())
    return sorted(timings)
