"""The platform's `@rpc`: nameko's, with the services' business refusals marked expected.

A domain error (422 insufficient_balance, 404, 409, 400) is the service answering, not
failing. nameko logs an expected exception at WARNING, but still with its traceback; the
filter below drops the traceback of exactly those records, so a refusal is one WARNING line
and an unexpected exception keeps ERROR with its traceback. Both live here, so a service
only imports `rpc` from this module, and any process that defines a service gets the filter.
"""

from __future__ import annotations

import functools
import logging

from nameko.rpc import rpc as nameko_rpc

from services.domain_errors import DomainError
from services.remote_errors import ServiceError

EXPECTED_EXCEPTIONS = (ServiceError, DomainError)
"""A domain error leaves a service as a ServiceError (`domain_errors_cross`); one raised by a
method without that wrapper is still a refusal."""

NAMEKO_WORKER_LOGGER = "nameko.containers"
"""Where nameko logs a worker's exception, `(expected) error handling worker ...`."""


class ExpectedRefusalFilter(logging.Filter):
    """Keeps an expected refusal's WARNING record and drops its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno == logging.WARNING
            and record.exc_info
            and isinstance(record.exc_info[1], EXPECTED_EXCEPTIONS)
        ):
            record.exc_info = None
            record.exc_text = None
        return True


_FILTER = ExpectedRefusalFilter()
# A logger's filters survive nameko's dictConfig of LOGGING (which only configures the loggers
# it names), and addFilter ignores a second add of the same filter.
logging.getLogger(NAMEKO_WORKER_LOGGER).addFilter(_FILTER)


def rpc(fn=None, *, expected_exceptions=EXPECTED_EXCEPTIONS, **options):
    """`@rpc` or `@rpc(...)`, as nameko's, with the refusals expected unless told otherwise."""
    if fn is None:
        return functools.partial(rpc, expected_exceptions=expected_exceptions, **options)
    return nameko_rpc(expected_exceptions=expected_exceptions, **options)(fn)
