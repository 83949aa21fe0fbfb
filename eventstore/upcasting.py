"""Upcasters turn stored events of an older version into the current version on read.

Stored bytes are never rewritten: a `v1` event stays `v1` on disk, and every reader sees the
newest version after the chain has run. Each step names the exact type it upgrades.
"""

from __future__ import annotations

from collections.abc import Callable

Upcaster = Callable[[dict], dict]


class UpcasterChain:
    def __init__(self) -> None:
        self._steps: dict[str, tuple[str, Upcaster]] = {}

    def register(self, from_type: str, to_type: str) -> Callable[[Upcaster], Upcaster]:
        if from_type in self._steps:
            raise ValueError(f"an upcaster from {from_type} is already registered")
        if from_type == to_type:
            raise ValueError("an upcaster must change the type name")

        def decorator(fn: Upcaster) -> Upcaster:
            self._steps[from_type] = (to_type, fn)
            return fn

        return decorator

    def upcast(self, type_name: str, data: dict) -> tuple[str, dict]:
        seen = set()
        while type_name in self._steps:
            if type_name in seen:
                raise ValueError(f"upcaster cycle at {type_name}")
            seen.add(type_name)
            type_name, fn = self._steps[type_name]
            data = fn(dict(data))
        return type_name, data

    def __bool__(self) -> bool:
        return bool(self._steps)


NO_UPCASTERS = UpcasterChain()
