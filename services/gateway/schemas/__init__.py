"""Marshmallow schemas, one module per API area. Unknown fields are refused everywhere.

Every request schema derives from `StrictSchema`, so what no value may be, in any field, is
checked once here rather than field by field: text must be encodable as UTF-8 (JSON can carry
a lone surrogate such as "\\ud800", which breaks the services where they store or encrypt it),
and integers must fit the 64-bit integers the stores keep.
"""

from datetime import UTC, datetime

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load

INT64 = (-(2**63), 2**63 - 1)
"""What SQLite's and PostgreSQL's integers hold; any count, index or amount lies inside."""


def _bad_values(data, check):
    """(path, message) for each value under `data` that `check` refuses. Iterative, so a
    deeply nested body cannot exhaust the stack here."""
    stack = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((path + (str(k),), v) for k, v in value.items())
            stack.extend((path, k) for k in value if isinstance(k, str))
        elif isinstance(value, list | tuple):
            stack.extend((path + (str(i),), v) for i, v in enumerate(value))
        else:
            message = check(value)
            if message:
                yield path, message


def _not_utf8(value) -> str | None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "not valid text: it holds a lone UTF-16 surrogate"
    return None


def _beyond_int64(value) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        return f"must be between {INT64[0]} and {INT64[1]}"
    return None


def _refuse(problems) -> None:
    messages: dict = {}
    for path, message in problems:
        messages.setdefault(path[0] if path else "_schema", []).append(message)
    if messages:
        raise ValidationError(messages)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE

    @pre_load
    def _encodable_text(self, data, **_):
        _refuse(_bad_values(data, _not_utf8))
        return data

    @post_load
    def _integers_that_fit(self, data, **_):
        _refuse(_bad_values(data, _beyond_int64))
        return data


class Money(fields.Integer):
    """Integer fen. `strict` refuses 10.0 and "10": money is never a float or a string."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)


class Instant(fields.AwareDateTime):
    """An RFC 3339 time with its UTC offset, returned in UTC, within the years the platform
    deals in: a card, a promotion or a deadline in year 9999 (or year 1) is a typo or a
    probe, and its arithmetic would overflow Python's datetime downstream."""

    EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
    LATEST = datetime(2100, 1, 1, tzinfo=UTC)
    default_error_messages = {
        "out_of_range": f"must be from {EARLIEST.isoformat()} to before {LATEST.isoformat()}"
    }

    def __init__(self, **kwargs):
        metadata = {
            "description": f"RFC 3339 with an offset, from {self.EARLIEST.year} to "
            f"before {self.LATEST.year}",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(format="iso", metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:
            raise self.make_error("out_of_range") from None
        if not self.EARLIEST <= moment < self.LATEST:
            raise self.make_error("out_of_range")
        return moment


__all__ = ["INT64", "Instant", "Money", "StrictSchema", "ValidationError"]
