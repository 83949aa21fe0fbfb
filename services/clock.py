"""The platform's clock: the real time, or in demo mode the real time moved forward by the
simulator, so that 90 days of a synthetic city can pass in minutes.

The offset lives in one small JSON file, `PLATFORM_CLOCK_FILE`, which every process of a demo
platform reads (and re-reads when it changes). Without that variable, or outside demo mode,
this is the real UTC time and the file is never looked at.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.platform_mode import platform_mode

_lock = threading.Lock()
_cache: dict = {"mtime": None, "offset": 0.0}


def _offset_seconds(path: Path) -> float:
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0.0
    with _lock:
        if mtime != _cache["mtime"]:
            _cache["offset"] = float(json.loads(path.read_text())["offset_seconds"])
            _cache["mtime"] = mtime
        return _cache["offset"]


def clock_file() -> Path | None:
    if platform_mode() != "demo":
        return None
    path = os.environ.get("PLATFORM_CLOCK_FILE")
    return Path(path) if path else None


def now() -> datetime:
    path = clock_file()
    real = datetime.now(UTC)
    return real if path is None else real + timedelta(seconds=_offset_seconds(path))


def advance(days: float) -> datetime:
    """Demo mode only: moves the platform's clock forward (never back) by `days`."""
    path = clock_file()
    if path is None:
        raise RuntimeError("the clock moves only in demo mode with PLATFORM_CLOCK_FILE set")
    if days < 0:
        raise ValueError("the clock never goes back")
    offset = _offset_seconds(path) + days * 86_400
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"offset_seconds": offset}))
    os.replace(temporary, path)  # readers see the old offset or the new one, never half
    return now()
