"""Placeholder until the classification projection lands (it replaces this whole file)."""

from __future__ import annotations

from typing import Any

from eventstore import EventStore


def observe(uow: Any, event_type: str, data: dict, at: str, rules: Any) -> None:
    return None


def get(store: EventStore, merchant_id: str) -> dict | None:
    return None


def eligible_merchants(store: EventStore, department: str, kind: str) -> list[dict]:
    return []


def data_check_inputs(store: EventStore, merchant_id: str) -> dict:
    return {}


def reclassify_all(store: EventStore, rules: Any, now: Any) -> int:
    return 0
