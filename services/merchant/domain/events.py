"""The merchant service's events, stored under stable versioned names.

Personal data (the contact phone) is only ever carried encrypted with the merchant's own key
(`..._encrypted`), so deleting that key erases it from every copy of every event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class MerchantApplied:
    TYPE: ClassVar[str] = "merchant.MerchantApplied.v1"
    merchant_id: str
    name: str
    uscc: str
    industry: str
    address: str
    contact_phone_encrypted: str
    applied_by: str
    licence_issued_on: str | None = None
    """The business licence's date (YYYY-MM-DD), when the applicant gave it."""


@dataclass(frozen=True)
class MerchantApproved:
    TYPE: ClassVar[str] = "merchant.MerchantApproved.v1"
    merchant_id: str
    approved_by: str


@dataclass(frozen=True)
class MerchantFlagSet:
    """A listing such as 失信 (dishonest_debtor) or 经营异常 (abnormal_operations)."""

    TYPE: ClassVar[str] = "merchant.MerchantFlagSet.v1"
    merchant_id: str
    flag: str
    on: bool
    source: str
    """Where the listing was read, e.g. credit-china or the SAMR abnormal-operations list."""
    set_by: str


@dataclass(frozen=True)
class MerchantStatusChanged:
    """warned, delisted, closed or defaulted, with who decided and why."""

    TYPE: ClassVar[str] = "merchant.MerchantStatusChanged.v1"
    merchant_id: str
    status: str
    reason: str
    changed_by: str


@dataclass(frozen=True)
class ProductCreated:
    TYPE: ClassVar[str] = "merchant.ProductCreated.v1"
    product_id: str
    merchant_id: str
    type: str
    name: str
    price: int
    bonus: int
    uses: int
    validity_days: int
    period_days: int
    sector: str


@dataclass(frozen=True)
class PromotionCreated:
    """A time-limited bonus on a stored-value product: cards bought in [starts_at, ends_at)
    carry `bonus` instead of the product's own."""

    TYPE: ClassVar[str] = "merchant.PromotionCreated.v1"
    promotion_id: str
    merchant_id: str
    product_id: str
    name: str
    bonus: int
    starts_at: str
    ends_at: str
    created_by: str


@dataclass(frozen=True)
class ProductRetired:
    """The merchant stopped new sales of a product; cards already sold are unaffected."""

    TYPE: ClassVar[str] = "merchant.ProductRetired.v1"
    product_id: str
    merchant_id: str
    retired_by: str
    retired_at: str


@dataclass(frozen=True)
class UsccClaimed:
    """A merchant holds this USCC (on the stream `uscc-<code>`): while it is live, no other
    application may name the same code."""

    TYPE: ClassVar[str] = "merchant.UsccClaimed.v1"
    uscc: str
    merchant_id: str


@dataclass(frozen=True)
class UsccReleased:
    """The holder closed or defaulted: the code may be registered again."""

    TYPE: ClassVar[str] = "merchant.UsccReleased.v1"
    uscc: str
    merchant_id: str
    status: str


@dataclass(frozen=True)
class DefaultProposed:
    """The first of two regulators (maker-checker) proposes to declare the merchant defaulted;
    nothing is refunded until a different regulator confirms."""

    TYPE: ClassVar[str] = "merchant.DefaultProposed.v1"
    merchant_id: str
    reason: str
    proposed_by: str
    proposed_at: str


@dataclass(frozen=True)
class DefaultConfirmed:
    """A second regulator confirmed the proposal; the status change to defaulted follows."""

    TYPE: ClassVar[str] = "merchant.DefaultConfirmed.v1"
    merchant_id: str
    reason: str
    proposed_by: str
    confirmed_by: str
    confirmed_at: str
    note: str


MERCHANT_EVENTS = (
    MerchantApplied,
    MerchantApproved,
    MerchantFlagSet,
    MerchantStatusChanged,
    ProductCreated,
    PromotionCreated,
    ProductRetired,
    UsccClaimed,
    UsccReleased,
    DefaultProposed,
    DefaultConfirmed,
)
