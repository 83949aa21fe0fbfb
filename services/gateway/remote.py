"""The one way the gateway calls a service: every RPC goes through `RemoteCaller.call`, and
every remote failure becomes the contract's HTTP error by the one table below.

* a ServiceError (a domain refusal that crossed with its kind and code): the kind's status,
  the service's own code, message and details;
* a RemoteError (any other exception raised in the service): its type's status and code, or
  500 internal_error, logged, for a type that is not a refusal;
* no answer (the service is not running, the call timed out, every proxy is busy, the broker
  is unreachable): 503 service_unavailable.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from nameko.exceptions import RemoteError, RpcTimeout, UnknownService

from services.gateway.errors import ApiError
from services.gateway.metrics import RPC_SECONDS
from services.gateway.rpc_pool import RpcPoolExhausted, RpcProxyPool
from services.remote_errors import ServiceError

log = logging.getLogger("gateway.remote")

SERVICE_ERROR_STATUS = {
    "invalid_input": 400,
    "not_found": 404,
    "conflict": 409,
    "business_rule": 422,
}
"""A ServiceError's kind -> status; the code is the service's."""
REMOTE_ERRORS = {
    # exc_type raised in a service -> (status, code)
    "ValueError": (400, "invalid_input"),
    "NotFound": (404, "not_found"),
    "ConcurrencyError": (409, "conflict"),
    "Conflict": (409, "conflict"),
    "BusinessRuleViolation": (422, "business_rule_violated"),
}
UNAVAILABLE = (UnknownService, RpcTimeout, RpcPoolExhausted, OSError, ConnectionError)
"""The service did not answer: 503."""


def api_error(service: str, method: str, exc: Exception) -> ApiError:
    """The contract's error for a failed call of `service.method`."""
    if isinstance(exc, ServiceError):
        return ApiError(SERVICE_ERROR_STATUS.get(exc.kind, 500), exc.code, exc.message, exc.details)
    if isinstance(exc, RemoteError):
        known = REMOTE_ERRORS.get(exc.exc_type)
        if known is None:
            log.error("%s.%s failed remotely: %s", service, method, exc)
            return ApiError(500, "internal_error", f"{service} failed")
        return ApiError(*known, str(exc.value))
    log.warning("%s.%s unavailable: %r", service, method, exc)
    return ApiError(503, "service_unavailable", f"{service} is not answering")


class RemoteCaller:
    """Calls over the gateway's proxy pool."""

    def __init__(self, pool: RpcProxyPool):
        self.pool = pool

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        started, outcome = time.perf_counter(), "error"
        try:
            with self.pool.proxy() as proxy:
                answer = getattr(proxy[service], method)(*args, **kwargs)
            outcome = "ok"
            return answer
        except (ServiceError, RemoteError, *UNAVAILABLE) as exc:
            outcome = "unavailable" if isinstance(exc, UNAVAILABLE) else "refused"
            raise api_error(service, method, exc) from None
        finally:
            RPC_SECONDS.labels(service, method, outcome).observe(time.perf_counter() - started)

    def health(self, services: tuple[str, ...] | list[str]) -> dict[str, dict[str, Any]]:
        """Every service's `health` RPC, asked at once; a failure is reported, not raised,
        so the report names what is down (the broker itself, or a service)."""
        report: dict[str, dict[str, Any]] = {}
        try:
            with self.pool.proxy() as proxy:
                report["rabbitmq"] = {"status": "ok"}
                pending = {}
                for name in services:
                    try:
                        pending[name] = proxy[name].health.call_async()
                    except Exception as exc:  # noqa: BLE001 - e.g. UnknownService: not started
                        report[name] = {"status": "down", "error": type(exc).__name__}
                for name, reply in pending.items():
                    try:
                        report[name] = reply.result()
                    except Exception as exc:  # noqa: BLE001 - reported, not raised
                        report[name] = {"status": "down", "error": type(exc).__name__}
        except Exception as exc:  # noqa: BLE001 - the broker itself is unreachable
            report["rabbitmq"] = {"status": "down", "error": type(exc).__name__}
            for name in services:
                report.setdefault(name, {"status": "unknown", "error": "rabbitmq is down"})
        return report
