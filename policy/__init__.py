"""The versioned policy file, loaded into frozen values the domains take as an argument.

Stdlib only, so every domain may import it. `load_policy()` reads the shipped defaults,
`load_policy(path)` an operator's file; every key must be known (a typo is an error, not a
silently ignored rule).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType

DEFAULT_FILE = Path(__file__).with_name("policy.v1.toml")
SUPPORTED_VERSION = 1


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class CardRules:
    max_card_price: int
    max_consumer_total_per_merchant: int
    max_bonus_ratio_percent: int
    max_validity_days: int
    max_promotion_days: int
    max_period_days: int
    max_uses: int


@dataclass(frozen=True)
class EscrowRules:
    ratio_percent: int
    hold_expiry_minutes: int
    settlement_delay_days: int
    pending_payment_recheck_minutes: int
    pending_payment_abandon_hours: int


@dataclass(frozen=True)
class RefundRules:
    cooling_off_days: int
    cooling_off_due_working_days: int
    other_refunds_due_days: int
    stored_value_formula: str


@dataclass(frozen=True)
class MerchantRules:
    blocked_flags: tuple[str, ...]
    min_licence_age_days: int


@dataclass(frozen=True)
class RelayRules:
    max_lag_events: int
    max_age_seconds: int
    max_message_bytes: int
    max_header_value_bytes: int
    max_refusals: int


QUEUE_TYPES = ("quorum", "classic")


@dataclass(frozen=True)
class ConsumerRules:
    queue_type: str
    delivery_limit: int
    max_error_bytes: int


AMQP_SHORT_STRING_BYTES = 255
"""A message id, type or routing key is an AMQP short string: at most 255 bytes."""


@dataclass(frozen=True)
class Policy:
    version: int
    cards: CardRules
    escrow: EscrowRules
    refunds: RefundRules
    merchants: MerchantRules
    sectors: MappingProxyType
    """sector name -> its caps (a read-only mapping of rule name -> integer)."""
    risk: MappingProxyType
    relay: RelayRules
    consumers: ConsumerRules
    inspection: MappingProxyType
    """[inspection] and its tier tables, read-only; services.inspection.domain's
    InspectionRules.from_policy checks and reads it."""

    def escrow_ratio_percent(self, sector: str | None) -> int:
        """The escrow share of a card of `sector`: the sector's own when the policy sets one
        (education holds 100% whatever the general ratio), else [escrow] ratio_percent."""
        own = self.sectors.get(sector) if sector else None
        if own is not None and "escrow_ratio_percent" in own:
            return own["escrow_ratio_percent"]
        return self.escrow.ratio_percent


def _section(cls, raw: dict, name: str):
    known = {f.name for f in fields(cls)}
    unknown = set(raw) - known
    missing = known - set(raw)
    if unknown or missing:
        raise PolicyError(f"[{name}]: unknown {sorted(unknown)}, missing {sorted(missing)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    for key, value in values.items():
        if isinstance(value, float):
            raise PolicyError(f"[{name}] {key} is a float; use integers (fen, percent, days)")
    return cls(**values)


def load_policy(path: str | Path | None = None) -> Policy:
    raw = tomllib.loads(Path(path or DEFAULT_FILE).read_text(encoding="utf-8"))
    if raw.get("version") != SUPPORTED_VERSION:
        raise PolicyError(f"policy version {raw.get('version')!r} is not {SUPPORTED_VERSION}")
    expected = {
        "version",
        "cards",
        "escrow",
        "refunds",
        "sectors",
        "merchants",
        "risk",
        "relay",
        "consumers",
        "inspection",
    }
    if set(raw) != expected:
        raise PolicyError(f"policy sections must be exactly {sorted(expected)}")
    refunds = _section(RefundRules, raw["refunds"], "refunds")
    if refunds.stored_value_formula not in ("pro_rata", "list_price"):
        raise PolicyError("refunds.stored_value_formula must be pro_rata or list_price")
    escrow = _section(EscrowRules, raw["escrow"], "escrow")
    cards = _section(CardRules, raw["cards"], "cards")
    # A cap of 0 or less would refuse every product, and a non-integer one is a typo.
    bad_caps = [
        f.name
        for f in fields(CardRules)
        if type(getattr(cards, f.name)) is not int or getattr(cards, f.name) <= 0
    ]
    if bad_caps:
        raise PolicyError(f"[cards] caps must be positive integers: {bad_caps}")
    if not 0 < escrow.ratio_percent <= 100:
        raise PolicyError("escrow.ratio_percent must be in 1..100")
    if not 0 < escrow.pending_payment_recheck_minutes <= 60 * escrow.pending_payment_abandon_hours:
        raise PolicyError(
            "escrow.pending_payment_recheck_minutes must be positive and within "
            "pending_payment_abandon_hours"
        )
    relay = _section(RelayRules, raw["relay"], "relay")
    if not 0 < relay.max_header_value_bytes <= AMQP_SHORT_STRING_BYTES:
        raise PolicyError(f"relay.max_header_value_bytes must be in 1..{AMQP_SHORT_STRING_BYTES}")
    if (
        min(
            relay.max_lag_events, relay.max_age_seconds, relay.max_message_bytes, relay.max_refusals
        )
        < 1
    ):
        raise PolicyError("[relay] limits must be positive")
    consumers = _section(ConsumerRules, raw["consumers"], "consumers")
    if consumers.queue_type not in QUEUE_TYPES:
        raise PolicyError(f"consumers.queue_type must be one of {list(QUEUE_TYPES)}")
    if min(consumers.delivery_limit, consumers.max_error_bytes) < 1:
        raise PolicyError("[consumers] limits must be positive")
    for sector, caps in raw["sectors"].items():
        if not 0 < caps.get("escrow_ratio_percent", 100) <= 100:
            raise PolicyError(f"sectors.{sector}.escrow_ratio_percent must be in 1..100")
    return Policy(
        version=raw["version"],
        cards=cards,
        escrow=escrow,
        refunds=refunds,
        merchants=_section(MerchantRules, raw["merchants"], "merchants"),
        sectors=MappingProxyType({k: MappingProxyType(v) for k, v in raw["sectors"].items()}),
        risk=MappingProxyType(dict(raw["risk"])),
        relay=relay,
        consumers=consumers,
        inspection=_read_only(raw["inspection"]),
    )


def _read_only(section: dict) -> MappingProxyType:
    return MappingProxyType(
        {k: _read_only(v) if isinstance(v, dict) else v for k, v in section.items()}
    )
