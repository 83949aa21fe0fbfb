"""A policy that notes every key the code reads, for the test that every key of the policy
file is used (a key nothing reads is a rule the platform only pretends to apply).

`recording(policy)` returns a stand-in that answers like the policy and a set that fills
with dotted key names ("refunds.cooling_off_days", "sectors.education.max_price") as the
code reads them. Sections that are mappings record a key on `[]`, `get` or `in`; building a
mapping wholesale (`dict(policy.risk)`, as `RiskRules.from_policy` does) reads every key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import is_dataclass


class _Section:
    def __init__(self, target, path: str, reads: set[str]):
        self._target, self._path, self._reads = target, path, reads

    def __getattr__(self, name: str):
        value = getattr(self._target, name)
        method = getattr(type(self._target), name, None)
        if callable(method):  # a method of the policy reads through the recorder too
            return method.__get__(self)
        return _wrap(value, f"{self._path}{name}", self._reads)


class _Mapping(Mapping):
    def __init__(self, target: Mapping, path: str, reads: set[str]):
        self._target, self._path, self._reads = target, path, reads

    def __getitem__(self, key):
        value = self._target[key]
        return _wrap(value, f"{self._path}{key}", self._reads)

    def __contains__(self, key) -> bool:
        if key in self._target:
            self._reads.add(f"{self._path}{key}")
            return True
        return False

    def __iter__(self):
        return iter(self._target)

    def __len__(self) -> int:
        return len(self._target)


def _wrap(value, path: str, reads: set[str]):
    if is_dataclass(value) and not isinstance(value, type):
        return _Section(value, f"{path}.", reads)
    if isinstance(value, Mapping):
        return _Mapping(value, f"{path}.", reads)
    reads.add(path)
    return value


def recording(policy) -> tuple[object, set[str]]:
    reads: set[str] = set()
    return _Section(policy, "", reads), reads


def keys_of(raw: dict, path: str = "") -> set[str]:
    """Every leaf key of a parsed policy file, dotted."""
    found = set()
    for key, value in raw.items():
        if isinstance(value, dict):
            found |= keys_of(value, f"{path}{key}.")
        else:
            found.add(f"{path}{key}")
    return found


__all__ = ["keys_of", "recording"]
