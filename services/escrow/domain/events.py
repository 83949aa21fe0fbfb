"""The escrow service's events: one stream per card, money in integer fen.

Every money movement is an event: the deposit into the card's escrow sub-account (and any
share paid to the merchant up front), each release to the merchant, and each refund with the
rule and the inputs of its formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class CardPurchased:
    TYPE: ClassVar[str] = "escrow.CardPurchased.v1"
    card_id: str
    consumer_id: str
    merchant_id: str
    product_id: str
    card_type: str
    price: int
    bonus: int
    uses: int
    validity_days: int
    period_days: int
    payment_id: str
    escrow_ratio_percent: int
    purchased_at: str


@dataclass(frozen=True)
class DepositConfirmed:
    TYPE: ClassVar[str] = "escrow.DepositConfirmed.v1"
    card_id: str
    merchant_id: str
    payment_id: str
    amount: int
    held_amount: int
    upfront_amount: int
    """Paid to the merchant at once when the policy's escrow ratio is below 100%."""
    confirmed_at: str
    expires_at: str


@dataclass(frozen=True)
class RedemptionRequested:
    TYPE: ClassVar[str] = "escrow.RedemptionRequested.v1"
    card_id: str
    merchant_id: str
    redemption_id: str
    value: int
    """Face value taken from a stored-value card (fen of face value)."""
    uses: int
    check_in: bool
    requested_at: str
    expires_at: str


@dataclass(frozen=True)
class RedemptionConfirmed:
    TYPE: ClassVar[str] = "escrow.RedemptionConfirmed.v1"
    card_id: str
    merchant_id: str
    consumer_id: str
    redemption_id: str
    released_amount: int
    confirmed_at: str


@dataclass(frozen=True)
class RedemptionVoided:
    """Rejected by the card's owner, or expired unconfirmed."""

    TYPE: ClassVar[str] = "escrow.RedemptionVoided.v1"
    card_id: str
    redemption_id: str
    reason: str
    voided_at: str


@dataclass(frozen=True)
class FundsReleased:
    """Money released to the merchant by a rule, not a confirmation: a period card's days
    elapsed (`period_elapsed`), or value consumed at list price before a refund."""

    TYPE: ClassVar[str] = "escrow.FundsReleased.v1"
    card_id: str
    merchant_id: str
    released_amount: int
    reason: str
    days_elapsed: int
    released_at: str


@dataclass(frozen=True)
class CardRefunded:
    TYPE: ClassVar[str] = "escrow.CardRefunded.v1"
    card_id: str
    merchant_id: str
    consumer_id: str
    rule: str
    refund_amount: int
    inputs: dict
    refunded_at: str


@dataclass(frozen=True)
class CoolingOffStarted:
    """The card's cooling-off window: until `ends_at`, or its first confirmed spend, no money
    of the card reaches the merchant, so a cooling-off refund returns the whole price. The
    share the merchant would get up front (escrow ratio below 100%) stays held meanwhile.
    Cards activated before this event existed have none: their up-front share was paid at
    once, as their DepositConfirmed says."""

    TYPE: ClassVar[str] = "escrow.CoolingOffStarted.v1"
    card_id: str
    merchant_id: str
    deferred_upfront_amount: int
    started_at: str
    ends_at: str


@dataclass(frozen=True)
class DepositReturned:
    """The bank took the money but the card could not be activated: the whole amount the
    bank received goes back by the original route, and the card closes as refunded. It was
    never issued, so it counts neither as issuance nor as a refund against the merchant."""

    TYPE: ClassVar[str] = "escrow.DepositReturned.v1"
    card_id: str
    merchant_id: str
    consumer_id: str
    payment_id: str
    amount: int
    reason: str
    returned_at: str


@dataclass(frozen=True)
class PayoutMade:
    """Released money of whole days moved from escrow to the merchant (T+1 by default)."""

    TYPE: ClassVar[str] = "escrow.PayoutMade.v1"
    payout_id: str
    merchant_id: str
    amount: int
    days: list
    paid_at: str


@dataclass(frozen=True)
class PayoutWithheld:
    """Released money owed to a merchant declared defaulted is not paid to it: it stays in the
    escrow account, held for the regulator to apply to what the merchant owes its consumers
    (the up-front shares its default did not give back), never paid out and never lost."""

    TYPE: ClassVar[str] = "escrow.PayoutWithheld.v1"
    withholding_id: str
    merchant_id: str
    amount: int
    days: list
    reason: str
    withheld_at: str


@dataclass(frozen=True)
class PaymentAbandoned:
    """The bank never took the card's payment within the policy's time: the card closes
    without being issued, no money moved, and its price no longer counts toward the
    consumer's cap. Money the bank takes for it later goes back (`DepositReturned`)."""

    TYPE: ClassVar[str] = "escrow.PaymentAbandoned.v1"
    card_id: str
    merchant_id: str
    consumer_id: str
    payment_id: str
    reason: str
    abandoned_at: str


@dataclass(frozen=True)
class CardCodeIssued:
    """The code the consumer shows at the counter (`card_codes`), issued with the purchase
    in the same commit. Cards bought before this event existed have none: their code is
    derived from the card id on replay."""

    TYPE: ClassVar[str] = "escrow.CardCodeIssued.v1"
    card_id: str
    merchant_id: str
    card_code: str
    issued_at: str


@dataclass(frozen=True)
class ReconciliationCompleted:
    """A finished UTC day's bank statement checked against the movements the escrow recorded
    that day: `matched` lines agree; each difference is a movement the bank does not show
    (`missing_at_bank`) or one it shows that the escrow never made (`unexpected_at_bank`),
    named by its payment or payout id only. A day is reconciled once."""

    TYPE: ClassVar[str] = "escrow.ReconciliationCompleted.v1"
    day: str
    status: str
    """matched | differences"""
    matched: int
    differences: list
    """[{side, kind, reference, amount, count}]: the first `LISTED_DIFFERENCES` of them."""
    reconciled_at: str
    differences_total: int = 0
    """How many differences the day has in all (a missing statement makes one per movement,
    which no event or page could carry)."""


ESCROW_EVENTS = (
    CardPurchased,
    DepositConfirmed,
    RedemptionRequested,
    RedemptionConfirmed,
    RedemptionVoided,
    FundsReleased,
    CardRefunded,
    PayoutMade,
    DepositReturned,
    CoolingOffStarted,
    PayoutWithheld,
    PaymentAbandoned,
    CardCodeIssued,
    ReconciliationCompleted,
)
