"""Cursor paging at the edge, for every list the API returns.

The contract: a list is `{"items": [...], "next_cursor": null|"..."}`, and takes `?cursor=`
and `?limit=` (at most 500). The services page by key (`after`, `limit`) and answer
`{"items", "next_after"}`; here `after` travels as an opaque cursor: base64url of JSON
`[scope, after]`, where the scope names the list and its filters, so a cursor is refused
(400 invalid_cursor) when it is not one of ours or belongs to another list or filter.
"""

from __future__ import annotations

import base64
import binascii
import json

from marshmallow import fields, validate

from services.gateway.errors import ApiError
from services.gateway.openapi import param
from services.gateway.schemas import StrictSchema

MAX_LIMIT = 500
"""The contract's largest page."""
DEFAULT_LIMIT = 100
MAX_CURSOR_CHARS = 1024
"""Far above any key the services page by; longer is not one of ours."""


class PageQuery(StrictSchema):
    """`?cursor=&limit=`; a list's own filters are fields of a subclass."""

    cursor = fields.String(load_default="", validate=validate.Length(max=MAX_CURSOR_CHARS))
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT)
    )


PAGE_PARAMS = (
    param("cursor", description="next_cursor of the previous page"),
    param("limit", "integer", description=f"1 to {MAX_LIMIT}, {DEFAULT_LIMIT} by default"),
)


def _invalid() -> ApiError:
    return ApiError(400, "invalid_cursor", "cursor is not a next_cursor of this list")


def encode(scope: str, after: str | None) -> str | None:
    if after is None:
        return None
    raw = json.dumps([scope, after], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(scope: str, cursor: str) -> str:
    """The `after` key of a cursor this list gave out; "" (the first page) for no cursor."""
    if not cursor:
        return ""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        found = json.loads(raw.decode())
    except (binascii.Error, ValueError):  # bad base64, bad UTF-8 and bad JSON alike
        raise _invalid() from None
    if not (
        isinstance(found, list)
        and len(found) == 2
        and found[0] == scope
        and isinstance(found[1], str)
        and found[1]
    ):
        raise _invalid()
    return found[1]


def page_args(args: dict, scope: str) -> tuple[str, int]:
    """(after, limit) for the service, from the loaded `PageQuery` arguments."""
    return decode(scope, args["cursor"]), args["limit"]


def page_body(page: dict, scope: str, items: list | None = None) -> dict:
    """The contract's list body from a service's page (its items, or `items` made of them)."""
    return {
        "items": page["items"] if items is None else items,
        "next_cursor": encode(scope, page["next_after"]),
    }
