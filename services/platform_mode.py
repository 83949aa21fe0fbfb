"""The platform's mode, one for every process: `production` unless `PLATFORM_MODE=demo` says
otherwise. Demo mode is what `make run`, the tests and the benches choose explicitly: dev-login
for any role, the simulated bank and the demo clock. Forgetting the variable must never give a
production deployment those."""

from __future__ import annotations

import os

MODES = ("demo", "production")
DEFAULT_MODE = "production"


def platform_mode(environ=os.environ) -> str:
    mode = environ.get("PLATFORM_MODE", DEFAULT_MODE)
    if mode not in MODES:
        raise ValueError(f"PLATFORM_MODE must be demo or production, not {mode!r}")
    return mode
