"""Calls into the services, with remote failures mapped to the contract's HTTP errors."""
from __future__ import annotations

import logging

from flask import current_app
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService

from services.gateway.errors import ApiError
from services.gateway.rpc_pool import RpcPoolExhausted
from services.remote_errors import ServiceError

log = logging.getLogger("gateway.remote")

SERVICE_ERROR_STATUS = {"invalid_input": 400, "not_found": 404, "conflict": 409,
                        "business_rule": 422}
REMOTE_ERRORS = {
    # exc_type raised in a service -> (status, code)
    "ValueError": (400, "invalid_input"),
    "NotFound": (404, "not_found"),
    "ConcurrencyError": (409, "conflict"),
    "Conflict": (409, "conflict"),
    "BusinessRuleViolation": (422, "business_rule_violated"),
}


def call(service: str, method: str, *args, **kwargs):
    try:
        with current_app.config["RPC_POOL"].proxy() as proxy:
            return getattr(proxy[service], method)(*args, **kwargs)
    except ServiceError as exc:
        status = SERVICE_ERROR_STATUS.get(exc.kind, 500)
        raise ApiError(status, exc.code, exc.message, exc.details) from None
    except RemoteError as exc:
        status, code = REMOTE_ERRORS.get(exc.exc_type, (None, None))
        if status is None:
            log.error("%s.%s failed remotely: %s", service, method, exc)
            raise ApiError(500, "internal_error", f"{service} failed") from None
        raise ApiError(status, code, str(exc.value)) from None
    except (UnknownService, RpcTimeout, RpcPoolExhausted, OSError, ConnectionError) as exc:
        log.warning("%s.%s unavailable: %r", service, method, exc)
        raise ApiError(503, "service_unavailable", f"{service} is not answering") from None
