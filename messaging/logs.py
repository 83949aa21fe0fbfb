"""Every process's logs: one JSON object a line, each naming its process and the correlation id
of the request or event being handled.

* `configure(service)` replaces the root logger's handlers with one on stderr (a nameko
  service whose config `LOGGING` names `formatters` keeps its own, `add_context`). `LOG_FORMAT`
  chooses `json` (the default when stderr is not a terminal: files, containers) or `text` (the
  default in a terminal); `LOG_LEVEL` the level (INFO).
* The correlation id is a context variable: the gateway sets it from the request's
  `X-Request-Id` for the request's thread, a nameko worker from its RPC context data or from
  its event's metadata (messaging/observability.py), each greenthread or thread having its
  own. A filter on the handler copies it, and the process's name, into every record.

* No secret in a URL reaches a log: the same filter masks the password of every
  `scheme://user:password@host` in a record's message and traceback. Libraries redact only
  what they parse as one URL (nameko's and kombu's "Error connecting to broker at ..." mask
  the first of `amqp://u:p@a;amqp://u:p@b` and print the others whole).

A log line says what happened, never to whom: ids, codes and counts, never a phone number,
name or address (tests/privacy/test_logs.py keeps that).
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from pythonjsonlogger.json import JsonFormatter

CORRELATION_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)
"""The correlation id of what this thread or greenthread is handling, if anything."""

JSON_FIELDS = ("asctime", "levelname", "name", "message", "service", "correlation_id")
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}
MASK = "********"
# The password runs to the `@`: `,` and `'` are legal in it, `;` separates a cluster's URLs.
URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s;,'\"]*:)[^@\s;\"]*@")
TEXT_FORMAT = "%(asctime)s %(service)s %(name)s %(levelname)s [%(correlation_id)s] %(message)s"


def current_correlation_id() -> str | None:
    return CORRELATION_ID.get()


@contextmanager
def correlated(correlation_id: str | None) -> Iterator[None]:
    """Sets the correlation id for the `with` block."""
    token = CORRELATION_ID.set(correlation_id)
    try:
        yield
    finally:
        CORRELATION_ID.reset(token)


def redact_urls(text: str) -> str:
    """`text` with the password of every URL in it masked (a list of URLs: each of them)."""
    return URL_PASSWORD.sub(lambda found: f"{found['head']}{MASK}@", text)


def redact_record(record: logging.LogRecord) -> None:
    """Masks URL passwords in the record's message and traceback, in place: the message is
    rendered once and its arguments dropped, so no handler or formatter sees the secret."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - arguments that do not fit the message: logging's
        # handleError reports it when the handler formats (printing the arguments: masked
        # here); a filter's error would reach the caller of log.info() instead.
        message = None
        if isinstance(record.args, tuple):
            record.args = tuple(redact_urls(a) if isinstance(a, str) else a for a in record.args)
    if message is not None and (redacted := redact_urls(message)) != message:
        record.msg, record.args = redacted, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact_urls(record.exc_text)
        record.exc_info = None  # formatters would render it again, unredacted
    if record.stack_info:
        record.stack_info = redact_urls(record.stack_info)


class ContextFilter(logging.Filter):
    """Puts the process's name and the current correlation id on every record, and masks the
    passwords of the URLs in it."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.correlation_id = CORRELATION_ID.get()
        redact_record(record)
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        list(JSON_FIELDS),
        rename_fields=RENAMED,
        timestamp=False,
        json_ensure_ascii=False,
    )


def log_format(stream=None) -> str:
    chosen = os.environ.get("LOG_FORMAT", "").strip().lower()
    if chosen in ("json", "text"):
        return chosen
    stream = stream or sys.stderr
    return "text" if getattr(stream, "isatty", lambda: False)() else "json"


def add_context(service: str) -> None:
    """Keeps the root logger's handlers (a nameko LOGGING that names its own formatters) and
    only gives their records the process's name and the correlation id."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(ContextFilter(service))


def configure(service: str, stream=None) -> logging.Handler:
    """One handler on the root logger, writing `service`'s records as LOG_FORMAT says."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter(service))
    handler.setFormatter(
        json_formatter() if log_format(stream) == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    return handler
