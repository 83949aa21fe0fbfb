"""The demo clock: moved forward by the simulator for every process, ignored in production."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services import clock


def test_the_demo_clock_moves_forward_for_every_reader(tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_MODE", "demo")
    monkeypatch.setenv("PLATFORM_CLOCK_FILE", str(tmp_path / "clock.json"))
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    moved = clock.advance(3)
    assert (
        timedelta(days=3) - timedelta(seconds=5)
        < moved - datetime.now(UTC)
        < timedelta(days=3) + timedelta(seconds=5)
    )
    clock.advance(2)
    assert clock.now() - datetime.now(UTC) > timedelta(days=5) - timedelta(seconds=5)
    with pytest.raises(ValueError):
        clock.advance(-1)
    monkeypatch.setenv("PLATFORM_MODE", "production")
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5), (
        "production never reads the file"
    )
    with pytest.raises(RuntimeError):
        clock.advance(1)


def test_without_a_clock_file_time_is_real(monkeypatch):
    monkeypatch.delenv("PLATFORM_CLOCK_FILE", raising=False)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    with pytest.raises(RuntimeError):
        clock.advance(1)
