"""Correlation ids: the token that follows one request through its events and messages.

A correlation id comes from outside (a client's `X-Request-Id`), is stored in every event's
metadata and travels in an AMQP header, so it must be short and plain: an unbounded or odd
one would be copied into every event of the request and could make a message the broker
refuses. Anything else is replaced by a fresh id.
"""

from __future__ import annotations

import re
import uuid
from typing import TypeGuard

# Letters, digits, dot, underscore and hyphen, 1 to 64 of them: room for a UUID in any common
# spelling or a tracing system's id, and nothing that needs escaping in a header or a log.
CORRELATION_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def is_valid(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and CORRELATION_ID.fullmatch(value) is not None


def new_id() -> str:
    return uuid.uuid4().hex


def accept(value: object) -> str:
    """`value` when it is a valid correlation id, else a fresh one."""
    return value if is_valid(value) else new_id()
