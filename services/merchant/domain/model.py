"""Merchants and their card products: state from events, and the rules that decide.

Stdlib and the policy only. Money is integer fen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from policy import Policy
from services.domain_errors import BusinessRuleViolation, Conflict, InvalidInput
from services.merchant.domain.events import (
    DefaultConfirmed,
    DefaultProposed,
    MerchantApplied,
    MerchantApproved,
    MerchantFlagSet,
    MerchantStatusChanged,
    ProductCreated,
    PromotionCreated,
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
PRODUCT_TYPES = ("stored_value", "count", "period")
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


def create_product(
    merchant: Merchant,
    policy: Policy,
    *,
    product_id: str,
    type: str,
    name: str,
    price: int,
    bonus: int = 0,
    uses: int = 0,
    validity_days: int = 0,
    period_days: int = 0,
) -> ProductCreated:
    reason = merchant.why_not_selling(policy)
    if reason:
        raise BusinessRuleViolation(
            f"this merchant may not sell cards: {reason}", "merchant_may_not_sell"
        )
    if type not in PRODUCT_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(PRODUCT_TYPES)}", "invalid_type")
    product = ProductCreated(
        product_id,
        merchant.merchant_id,
        type,
        name.strip(),
        price,
        bonus,
        uses,
        validity_days,
        period_days,
        merchant.industry,
    )
    _check_shape(product)
    breaches = product_breaches(product, policy)
    if breaches:
        raise BusinessRuleViolation(
            "the product breaks the policy",
            "policy_breach",
            {"breaches": breaches, "policy_version": policy.version},
        )
    return product


def _check_shape(product: ProductCreated) -> None:
    """What the type itself requires (400s); caps and ratios are the policy's (422s)."""
    fields_by_type = {
        "stored_value": ("validity_days",),
        "count": ("uses", "validity_days"),
        "period": ("period_days",),
    }
    for name in ("price",) + fields_by_type[product.type]:
        if getattr(product, name) <= 0:
            raise InvalidInput(
                f"{name} must be a positive integer", "invalid_input", {"field": name}
            )
    if product.bonus < 0 or (product.bonus and product.type != "stored_value"):
        raise InvalidInput(
            "only stored-value cards carry a bonus, never negative",
            "invalid_input",
            {"field": "bonus"},
        )


def product_breaches(product: ProductCreated, policy: Policy) -> list[dict]:
    """Every policy cap the product exceeds, as {rule, limit, value}."""
    breaches = []

    def cap(rule: str, limit: int, value: int) -> None:
        if value > limit:
            breaches.append({"rule": rule, "limit": limit, "value": value})

    cards = policy.cards
    sector = policy.sectors.get(product.sector, {})
    lesson_pack = product.sector == "fitness" and product.type == "count"
    if not lesson_pack:
        cap("cards.max_card_price", cards.max_card_price, product.price)
    # Caps for every sector; a sector's own caps below may be lower, never missing.
    cap("cards.max_validity_days", cards.max_validity_days, product.validity_days)
    cap("cards.max_period_days", cards.max_period_days, product.period_days)
    cap("cards.max_uses", cards.max_uses, product.uses)
    if product.type == "stored_value":
        cap(
            "cards.max_bonus_ratio_percent",
            cards.max_bonus_ratio_percent,
            -(-product.bonus * 100 // product.price),
        )
    if product.sector == "education":
        cap("sectors.education.max_price", sector["max_price"], product.price)
        cap("sectors.education.max_lessons", sector["max_lessons"], product.uses)
        cap(
            "sectors.education.max_period_days",
            sector["max_period_days"],
            product.period_days or product.validity_days,
        )
    elif product.sector == "fitness":
        if product.type == "period":
            cap(
                "sectors.fitness.max_membership_price",
                sector["max_membership_price"],
                product.price,
            )
            cap(
                "sectors.fitness.max_membership_days",
                sector["max_membership_days"],
                product.period_days,
            )
        elif product.type == "count":
            cap(
                "sectors.fitness.max_lesson_pack_price",
                sector["max_lesson_pack_price"],
                product.price,
            )
            cap("sectors.fitness.max_lessons", sector["max_lessons"], product.uses)
        else:
            cap(
                "sectors.fitness.max_stored_value_price",
                sector["max_stored_value_price"],
                product.price,
            )
    return breaches


def create_promotion(
    merchant: Merchant,
    product: dict,
    promotions: list[dict],
    policy: Policy,
    *,
    promotion_id: str,
    name: str,
    bonus: int,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    created_by: str,
) -> PromotionCreated:
    """A bonus for cards of `product` bought in [starts_at, ends_at); `promotions` are the
    product's existing ones, which it may not overlap."""
    reason = merchant.why_not_selling(policy, now)
    if reason:
        raise BusinessRuleViolation(
            f"this merchant may not sell cards: {reason}", "merchant_may_not_sell"
        )
    if product["type"] != "stored_value":
        raise BusinessRuleViolation(
            "only stored-value products carry a bonus", "promotion_not_applicable"
        )
    if bonus < 0 or not starts_at < ends_at or ends_at <= now:
        raise InvalidInput(
            "a promotion needs a bonus >= 0 and starts_at < ends_at, ending in the future",
            "invalid_promotion",
        )
    breaches = []
    ratio = -(-bonus * 100 // product["price"])
    if ratio > policy.cards.max_bonus_ratio_percent:
        breaches.append(
            {
                "rule": "cards.max_bonus_ratio_percent",
                "limit": policy.cards.max_bonus_ratio_percent,
                "value": ratio,
            }
        )
    if ends_at - starts_at > timedelta(days=policy.cards.max_promotion_days):
        breaches.append(
            {
                "rule": "cards.max_promotion_days",
                "limit": policy.cards.max_promotion_days,
                "value": -(-(ends_at - starts_at) // timedelta(days=1)),
            }
        )
    if breaches:
        raise BusinessRuleViolation(
            "the promotion breaks the policy",
            "policy_breach",
            {"breaches": breaches, "policy_version": policy.version},
        )
    for other in promotions:
        if datetime.fromisoformat(
            other["starts_at"]
        ) < ends_at and starts_at < datetime.fromisoformat(other["ends_at"]):
            raise Conflict(
                "another promotion of this product overlaps that time",
                "promotion_overlaps",
                {"promotion_id": other["promotion_id"]},
            )
    return PromotionCreated(
        promotion_id,
        merchant.merchant_id,
        product["product_id"],
        name.strip(),
        bonus,
        starts_at.isoformat(),
        ends_at.isoformat(),
        created_by,
    )


def price_at(product: dict, promotions: list[dict], now: datetime) -> dict:
    """The product as sold at `now`: an active promotion's bonus replaces the product's."""
    for promotion in promotions:
        if (
            datetime.fromisoformat(promotion["starts_at"])
            <= now
            < datetime.fromisoformat(promotion["ends_at"])
        ):
            return {
                **product,
                "bonus": promotion["bonus"],
                "promotion_id": promotion["promotion_id"],
            }
    return {**product, "promotion_id": None}
