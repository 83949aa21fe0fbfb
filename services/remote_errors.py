"""Domain errors crossing nameko RPC with their kind, code, message and details intact.

nameko turns an unknown exception into a RemoteError that keeps only a type name and a
string; this class is registered to be rebuilt as itself on the caller's side, so the
gateway can answer with the contract's status and error code.
"""

from __future__ import annotations

import functools

from nameko.exceptions import deserialize_to_instance

KINDS = {
    "InvalidInput": "invalid_input",
    "NotFound": "not_found",
    "Conflict": "conflict",
    "BusinessRuleViolation": "business_rule",
}


@deserialize_to_instance
class ServiceError(Exception):
    def __init__(self, kind: str, code: str, message: str, details: dict | None = None):
        super().__init__(kind, code, message, details or {})

    kind = property(lambda self: self.args[0])
    code = property(lambda self: self.args[1])
    message = property(lambda self: self.args[2])
    details = property(lambda self: self.args[3])


def domain_errors_cross(fn):
    """Wraps an RPC method: a domain error leaves as a ServiceError of its kind."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            kind = next((KINDS[c.__name__] for c in type(exc).__mro__ if c.__name__ in KINDS), None)
            if kind is None:
                raise
            raise ServiceError(
                kind,
                getattr(exc, "code", kind),
                getattr(exc, "message", str(exc)),
                getattr(exc, "details", {}),
            ) from None

    return wrapper
