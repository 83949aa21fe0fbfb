"""Merchants: state from events, and the rules that decide their registration, status,
listings and default. Their card products and promotions are in `products`.

Stdlib and the policy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from policy import Policy
from services.domain_errors import BusinessRuleViolation, Conflict, InvalidInput
from services.merchant.domain.events import (
    DefaultConfirmed,
    DefaultProposed,
    MerchantApplied,
    MerchantApproved,
    MerchantFlagSet,
    MerchantStatusChanged,
    UsccClaimed,
    UsccReleased,
)
from services.merchant.domain.uscc import is_valid_uscc

STATUSES = ("pending", "active", "warned", "delisted", "closed", "defaulted")
FINAL = ("closed", "defaulted")
"""A merchant in a final status no longer holds its USCC: the code may be registered again."""
# Where a status may go next; approval is the only way out of pending.
NEXT_STATUS = {
    "active": {"warned", "delisted", "closed", "defaulted"},
    "warned": {"active", "delisted", "closed", "defaulted"},
    "delisted": {"active", "closed", "defaulted"},
}
MAX_NAME_QUERY = 40
"""The longest part of a name the public directory searches for (characters)."""
INDUSTRIES = ("education", "fitness", "beauty", "catering", "retail", "other")
# Public listings an operator or regulator records: 失信 judgment debtors, 经营异常 abnormal
# operations, deregistration, and closure or relocation notices (hard flags for the risk code).
FLAGS = (
    "dishonest_debtor",
    "abnormal_operations",
    "deregistering",
    "closure_notice",
    "relocation_notice",
)


@dataclass
class Merchant:
    merchant_id: str
    name: str = ""
    uscc: str = ""
    industry: str = "other"
    address: str = ""
    contact_phone_encrypted: str = ""
    status: str = "pending"
    status_reason: str = ""
    flags: set[str] = field(default_factory=set)
    applied_by: str = ""
    default_proposal: DefaultProposed | None = None
    licence_issued_on: str | None = None
    version: int = 0

    @classmethod
    def from_events(cls, merchant_id: str, events) -> Merchant:
        merchant = cls(merchant_id)
        for event in events:
            merchant.apply(event)
        return merchant

    @property
    def exists(self) -> bool:
        return self.version > 0

    def apply(self, event) -> None:
        if isinstance(event, MerchantApplied):
            self.name, self.uscc, self.industry = event.name, event.uscc, event.industry
            self.address = event.address
            self.contact_phone_encrypted = event.contact_phone_encrypted
            self.applied_by = event.applied_by
            self.licence_issued_on = event.licence_issued_on
        elif isinstance(event, DefaultProposed):
            self.default_proposal = event
        elif isinstance(event, DefaultConfirmed):
            self.default_proposal = None
        elif isinstance(event, MerchantApproved):
            self.status = "active"
        elif isinstance(event, MerchantFlagSet):
            (self.flags.add if event.on else self.flags.discard)(event.flag)
        elif isinstance(event, MerchantStatusChanged):
            self.status, self.status_reason = event.status, event.reason
        self.version += 1

    def why_not_selling(self, policy: Policy, now: datetime | None = None) -> str | None:
        """None when the merchant may sell prepaid cards; else the reason it may not. With
        `now`, a licence younger than the policy's minimum age stops sales too (a merchant
        that gave no licence date is not held to it: see `apply_for`)."""
        if self.status not in ("active",):
            return f"merchant is {self.status}"
        blocked = sorted(self.flags & set(policy.merchants.blocked_flags))
        if blocked:
            return f"merchant is listed: {', '.join(blocked)}"
        if now is not None and self.licence_issued_on:
            held = (now.date() - date.fromisoformat(self.licence_issued_on)).days
            if held < policy.merchants.min_licence_age_days:
                return f"licence held {held} days, under {policy.merchants.min_licence_age_days}"
        return None


# --- decisions --------------------------------------------------------------------------------
def apply_for(
    merchant_id: str,
    *,
    name: str,
    uscc: str,
    industry: str,
    address: str,
    contact_phone_encrypted: str,
    applied_by: str,
    licence_issued_on: str | None = None,
) -> MerchantApplied:
    """`licence_issued_on` is optional: v1 applications name no licence date, and the
    contract only grows. Without it the minimum licence age cannot be judged and is not
    applied; with it, sales wait until the licence is old enough."""
    if licence_issued_on is not None and not _is_date(licence_issued_on):
        raise InvalidInput("licence_issued_on must be a date, YYYY-MM-DD", "invalid_licence_date")
    if not is_valid_uscc(uscc):
        raise InvalidInput(
            "the unified social credit code fails its check digit", "invalid_uscc", {"uscc": uscc}
        )
    if industry not in INDUSTRIES:
        raise InvalidInput(f"industry must be one of {', '.join(INDUSTRIES)}", "invalid_industry")
    return MerchantApplied(
        merchant_id,
        name.strip(),
        uscc.upper(),
        industry,
        address.strip(),
        contact_phone_encrypted,
        applied_by,
        licence_issued_on,
    )


def _is_date(text) -> bool:
    try:
        return isinstance(text, str) and len(text) == 10 and bool(date.fromisoformat(text))
    except ValueError:
        return False


def approve(merchant: Merchant, approved_by: str) -> MerchantApproved | None:
    if merchant.status == "active":
        return None  # approving twice changes nothing
    if merchant.status != "pending":
        raise Conflict(f"a {merchant.status} merchant cannot be approved", "invalid_transition")
    if approved_by == merchant.applied_by:
        # Maker-checker: whoever filed the application (an operator on a merchant's behalf)
        # cannot also be the one who lets it sell prepaid cards.
        raise BusinessRuleViolation(
            "an application must be approved by another operator than the one who filed it",
            "second_operator_required",
            {"applied_by": merchant.applied_by},
        )
    return MerchantApproved(merchant.merchant_id, approved_by)


def change_status(
    merchant: Merchant, status: str, reason: str, changed_by: str
) -> MerchantStatusChanged | None:
    if status == merchant.status:
        return None
    if status == "defaulted":
        raise BusinessRuleViolation(
            "a default is proposed by one regulator and confirmed by another",
            "default_needs_confirmation",
        )
    _check_transition(merchant, status)
    return MerchantStatusChanged(merchant.merchant_id, status, reason, changed_by)


def _check_transition(merchant: Merchant, status: str) -> None:
    if status not in NEXT_STATUS.get(merchant.status, set()):
        raise Conflict(f"a {merchant.status} merchant cannot become {status}", "invalid_transition")


def reinstate(
    merchant: Merchant, code: str | None, red_for: Sequence[str], reason: str, regulator: str
) -> MerchantStatusChanged:
    """A regulator relists a delisted merchant (it may sell again) once its health code
    gives no reason but the delisting itself: while delisted the code is red and lists every
    breach beside the delisting, so any breach left, even one that alone would be yellow,
    keeps it delisted (on the side of the consumers). `code` is the merchant's current code
    (None when not assessed yet), `red_for` the indicators its code gives as reasons."""
    if merchant.status != "delisted":
        raise Conflict(
            f"a {merchant.status} merchant is not delisted",
            "not_delisted",
            {"status": merchant.status},
        )
    if code == "red" and set(red_for) - {"status:delisted"}:
        raise BusinessRuleViolation(
            "the merchant's health code is still red", "still_red", {"reasons": sorted(red_for)}
        )
    if not reason.strip():
        raise InvalidInput("a reinstatement needs a reason", "invalid_input")
    return MerchantStatusChanged(merchant.merchant_id, "active", reason.strip(), regulator)


def declare_default(
    merchant: Merchant, reason: str, regulator: str, now: datetime, note: str = ""
) -> list:
    """One regulator's step toward a default (maker-checker): the first proposes, a different
    one confirms (then the merchant is defaulted). [] when it is defaulted already, so a
    retry can resume the refunds."""
    if merchant.status == "defaulted":
        return []
    _check_transition(merchant, "defaulted")
    proposal = merchant.default_proposal
    if proposal is None:
        return [DefaultProposed(merchant.merchant_id, reason.strip(), regulator, now.isoformat())]
    if proposal.proposed_by == regulator:
        raise BusinessRuleViolation(
            "a default proposed by this regulator needs another regulator's confirmation",
            "second_regulator_required",
            {"proposed_by": proposal.proposed_by, "proposed_at": proposal.proposed_at},
        )
    return [
        DefaultConfirmed(
            merchant.merchant_id,
            proposal.reason,
            proposal.proposed_by,
            regulator,
            now.isoformat(),
            note.strip(),
        ),
        MerchantStatusChanged(merchant.merchant_id, "defaulted", proposal.reason, regulator),
    ]


def uscc_holder(events) -> str | None:
    """The merchant that holds a USCC now, from its `uscc-<code>` stream; None when free."""
    holder = None
    for event in events:
        if isinstance(event, UsccClaimed):
            holder = event.merchant_id
        elif isinstance(event, UsccReleased) and event.merchant_id == holder:
            holder = None
    return holder


def claim_uscc(uscc: str, merchant_id: str, holder: str | None) -> UsccClaimed:
    if holder is not None:
        raise Conflict(
            "a live merchant is already registered with this unified social credit code",
            "uscc_taken",
            {"uscc": uscc},
        )
    return UsccClaimed(uscc, merchant_id)


def set_flag(
    merchant: Merchant, flag: str, on: bool, source: str, set_by: str
) -> MerchantFlagSet | None:
    if flag not in FLAGS:
        raise InvalidInput(f"flag must be one of {', '.join(FLAGS)}", "invalid_flag")
    if (flag in merchant.flags) == on:
        return None  # recording a listing twice changes nothing
    return MerchantFlagSet(merchant.merchant_id, flag, on, source.strip(), set_by)
