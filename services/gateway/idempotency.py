"""Idempotency-Key on POST: the same key and body replay the first response; the same key
with another body is 422 `idempotency_key_reused`; a request still running under the key is
409 `idempotency_in_progress`. Keys are scoped to the caller, and kept in the gateway's state
(services/gateway/state/idempotency.py): a SQLite file shared by its threads, or PostgreSQL,
shared by every replica.

A response is stored only if it is not a 5xx: after a failure on our side the client may
retry with the same key and get a real answer. Logins are not wrapped: their responses are
live tokens, which are never kept at rest, and a repeated login is harmless.

Records are kept `ttl` seconds (24 h by default), then a retry with the key runs afresh;
each write deletes a bounded batch of expired records, and an expired record is ignored on
read. A request marked in progress for more
than `stale_after` seconds is taken to have died with its process (a crash between the mark
and the response): a retry takes the key over instead of being refused forever. A SQLite
file is created 0600, since stored responses can carry personal data.

The records make a retry safe only once a response is stored. What a service does is made
safe by `request_identity()`, which the gateway sends with each money-moving command: the
same for a retry under the same key, so the service decides once per identity, also after a
5xx or a message redelivered to another replica.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from typing import Any, cast

from flask import Response, current_app, g, request

from services.gateway.auth import View, current_principal
from services.gateway.errors import ApiError
from services.gateway.state.ports import IN_PROGRESS, IdempotencyRecords


def _caller_scope() -> str:
    principal = current_principal()
    return f"{principal.role}:{principal.subject}" if principal else "anonymous"


def request_identity() -> str:
    """The identity of the client's request, for the services to decide once on: derived
    from the caller and its Idempotency-Key (hashed: neither is sent in plain), else fresh
    for this HTTP request (which RabbitMQ may still deliver twice to the services)."""
    if "request_identity" not in g:
        key = request.headers.get("Idempotency-Key")
        g.request_identity = (
            hashlib.sha256(f"{_caller_scope()}\n{key}".encode()).hexdigest()[:32]
            if key
            else uuid.uuid4().hex
        )
    return g.request_identity


def idempotent(view: View) -> View:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        if len(key) > 200:
            raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key is too long")
        scope = _caller_scope()
        body = request.get_data()
        fingerprint = hashlib.sha256(
            request.method.encode() + b" " + request.path.encode() + b"\n" + body
        ).hexdigest()
        store: IdempotencyRecords = current_app.config["IDEMPOTENCY"]
        replay = store.begin(scope, key, fingerprint)
        if replay is not None:
            if replay.fingerprint != fingerprint:
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request",
                )
            if replay.status == IN_PROGRESS:
                raise ApiError(
                    409,
                    "idempotency_in_progress",
                    "a request with this Idempotency-Key is still being processed",
                )
            return Response(
                replay.body,
                replay.status,
                content_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except ApiError as exc:
            response = current_app.make_response(
                (
                    json.dumps(
                        {
                            "error": {
                                "code": exc.code,
                                "message": exc.message,
                                "details": exc.details,
                            }
                        }
                    ),
                    exc.status,
                    {"Content-Type": "application/json"},
                )
            )
        except BaseException:
            store.finish(scope, key, 500, b"")
            raise
        store.finish(scope, key, response.status_code, response.get_data())
        return response

    return cast(View, wrapper)
