"""A merchant's card products and their promotions: the shape each card type needs, the
policy's caps a product or a promotion may not exceed, and the price a card sells at while a
promotion runs.

Stdlib and the policy only. Money is integer fen.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from policy import Policy
from services.domain_errors import BusinessRuleViolation, Conflict, InvalidInput
from services.merchant.domain.events import ProductCreated, ProductRetired, PromotionCreated
from services.merchant.domain.model import Merchant

PRODUCT_TYPES = ("stored_value", "count", "period")


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
    """Every policy cap the product exceeds, as {rule, field, limit, value}: `field` is the
    product's field the value comes from, so a form can show the refusal beside it."""
    breaches = []

    def cap(rule: str, field: str, limit: int) -> None:
        value = getattr(product, field)
        if rule == "cards.max_bonus_ratio_percent":
            value = -(-product.bonus * 100 // product.price)  # the ratio, rounded up
        if value > limit:
            breaches.append({"rule": rule, "field": field, "limit": limit, "value": value})

    cards = policy.cards
    sector = policy.sectors.get(product.sector, {})
    lesson_pack = product.sector == "fitness" and product.type == "count"
    if not lesson_pack:
        cap("cards.max_card_price", "price", cards.max_card_price)
    # Caps for every sector; a sector's own caps below may be lower, never missing.
    cap("cards.max_validity_days", "validity_days", cards.max_validity_days)
    cap("cards.max_period_days", "period_days", cards.max_period_days)
    cap("cards.max_uses", "uses", cards.max_uses)
    if product.type == "stored_value":
        cap("cards.max_bonus_ratio_percent", "bonus", cards.max_bonus_ratio_percent)
    if product.sector == "education":
        cap("sectors.education.max_price", "price", sector["max_price"])
        cap("sectors.education.max_lessons", "uses", sector["max_lessons"])
        cap(
            "sectors.education.max_period_days",
            "period_days" if product.type == "period" else "validity_days",
            sector["max_period_days"],
        )
    elif product.sector == "fitness":
        if product.type == "period":
            cap(
                "sectors.fitness.max_membership_price",
                "price",
                sector["max_membership_price"],
            )
            cap(
                "sectors.fitness.max_membership_days",
                "period_days",
                sector["max_membership_days"],
            )
        elif product.type == "count":
            cap("sectors.fitness.max_lesson_pack_price", "price", sector["max_lesson_pack_price"])
            cap("sectors.fitness.max_lessons", "uses", sector["max_lessons"])
        else:
            cap(
                "sectors.fitness.max_stored_value_price",
                "price",
                sector["max_stored_value_price"],
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
                "field": "bonus",
                "limit": policy.cards.max_bonus_ratio_percent,
                "value": ratio,
            }
        )
    if ends_at - starts_at > timedelta(days=policy.cards.max_promotion_days):
        breaches.append(
            {
                "rule": "cards.max_promotion_days",
                "field": "ends_at",
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
    promotion = running_promotion(promotions, now)
    if promotion is not None:
        return {
            **product,
            "bonus": promotion["bonus"],
            "promotion_id": promotion["promotion_id"],
        }
    return {**product, "promotion_id": None}


def retire_product(product: dict, retired_by: str, now: datetime) -> ProductRetired | None:
    """Stops new sales of `product` (its view); None when it is retired already, so retiring
    twice changes nothing and answers the same."""
    if product.get("retired_at"):
        return None
    return ProductRetired(
        product["product_id"], product["merchant_id"], retired_by, now.isoformat()
    )


def check_on_sale(product: dict) -> None:
    """A retired product sells no new card."""
    if product.get("retired_at"):
        raise BusinessRuleViolation(
            "the merchant no longer sells this product",
            "product_retired",
            {"product_id": product["product_id"], "retired_at": product["retired_at"]},
        )


def running_promotion(promotions: list[dict], now: datetime) -> dict | None:
    """The promotion running at `now`, if any (they never overlap)."""
    for promotion in promotions:
        if (
            datetime.fromisoformat(promotion["starts_at"])
            <= now
            < datetime.fromisoformat(promotion["ends_at"])
        ):
            return promotion
    return None
