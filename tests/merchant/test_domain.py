"""The merchant domain alone: USCC check digits, the lifecycle, and product policy caps."""

from datetime import UTC, datetime, timedelta

import pytest

from policy import load_policy
from services.domain_errors import BusinessRuleViolation, Conflict, InvalidInput
from services.merchant.domain import model, products
from services.merchant.domain.events import MerchantFlagSet
from services.merchant.domain.uscc import check_character, is_valid_uscc

POLICY = load_policy()
GOOD_USCC = "91350100M000100Y43"


@pytest.mark.parametrize(
    "code", ["91350100M000100Y43", "91110000600037341L", "91440300708461136T", "91350100m000100y43"]
)
def test_valid_codes(code):
    assert is_valid_uscc(code)


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y44",
        "91350100M000100Y4",
        "",
        "91350100M000100I43",
        "913501000000100Y43X",
        None,
    ],
)
def test_invalid_codes(code):
    assert not is_valid_uscc(code)


def test_every_single_character_change_is_caught():
    for position in range(17):
        for replacement in "0123456789ABCDEFGHJKLMNPQRTUWXY":
            if replacement == GOOD_USCC[position]:
                continue
            changed = GOOD_USCC[:position] + replacement + GOOD_USCC[position + 1 :]
            assert check_character(changed[:17]) != GOOD_USCC[17]


def active(industry="fitness", **flags) -> model.Merchant:
    merchant = model.Merchant.from_events(
        "m-1",
        [
            model.apply_for(
                "m-1",
                name="Gym",
                uscc=GOOD_USCC,
                industry=industry,
                address="Weihai",
                contact_phone_encrypted="ct",
                applied_by="operator:o",
            ),
        ],
    )
    merchant.apply(model.approve(merchant, "operator:o2"))
    for flag in flags:
        merchant.apply(MerchantFlagSet("m-1", flag, True, "credit-china", "regulator:r"))
    return merchant


def test_lifecycle():
    merchant = active()
    assert merchant.status == "active" and model.approve(merchant, "o") is None
    merchant.apply(model.change_status(merchant, "warned", "complaints", "regulator:r"))
    merchant.apply(model.change_status(merchant, "delisted", "red code", "regulator:r"))
    with pytest.raises(Conflict):
        model.approve(merchant, "o")
    with pytest.raises(BusinessRuleViolation):
        model.change_status(merchant, "defaulted", "absconded", "regulator:r")  # needs two
    at = datetime(2026, 12, 1, tzinfo=UTC)
    for event in model.declare_default(merchant, "absconded", "regulator:r", at):
        merchant.apply(event)
    assert merchant.status == "delisted" and merchant.default_proposal.proposed_by == "regulator:r"
    with pytest.raises(BusinessRuleViolation):
        model.declare_default(merchant, "absconded", "regulator:r", at)
    for event in model.declare_default(merchant, "", "regulator:r2", at):
        merchant.apply(event)
    assert merchant.status == "defaulted" and merchant.status_reason == "absconded"
    assert model.declare_default(merchant, "again", "regulator:r", at) == []
    with pytest.raises(Conflict):
        model.change_status(merchant, "active", "", "r")
    with pytest.raises(InvalidInput):
        model.apply_for(
            "m-2",
            name="x",
            uscc="91350100M000100Y44",
            industry="fitness",
            address="",
            contact_phone_encrypted="",
            applied_by="o",
        )


def product(merchant=None, **kwargs):
    args = {
        "product_id": "p",
        "type": "stored_value",
        "name": "Card",
        "price": 100_000,
        "bonus": 0,
        "validity_days": 365,
    } | kwargs
    return products.create_product(merchant or active(), POLICY, **args)


@pytest.mark.parametrize(
    "kwargs, ok",
    [
        ({"price": 500_000}, True),
        ({"price": 500_001}, False),  # 5,000 yuan named cap
        ({"bonus": 30_000}, True),
        ({"bonus": 30_001}, False),  # bonus <= 30% of price
        ({"validity_days": 1095}, True),
        ({"validity_days": 1096}, False),
        ({"type": "count", "uses": 60, "price": 2_000_000}, True),  # fitness lesson pack
        ({"type": "count", "uses": 61}, False),
        ({"type": "count", "uses": 10, "price": 2_000_001}, False),
        ({"type": "period", "period_days": 730, "price": 500_000}, True),  # membership 24 months
        ({"type": "period", "period_days": 731}, False),
    ],
)
def test_fitness_caps_on_both_sides_of_each_boundary(kwargs, ok):
    if ok:
        assert product(**kwargs).price == kwargs.get("price", 100_000)
    else:
        with pytest.raises(BusinessRuleViolation) as info:
            product(**kwargs)
        assert info.value.code == "policy_breach" and info.value.details["breaches"]


@pytest.mark.parametrize(
    "kwargs, ok",
    [
        ({"type": "count", "uses": 60, "validity_days": 90, "price": 500_000}, True),
        ({"type": "count", "uses": 61, "validity_days": 90}, False),
        ({"type": "count", "uses": 10, "validity_days": 91}, False),  # at most 3 months
        ({"type": "period", "period_days": 91}, False),
        ({"type": "count", "uses": 10, "validity_days": 30, "price": 500_001}, False),
    ],
)
def test_education_caps(kwargs, ok):
    merchant = active("education")
    if ok:
        product(merchant, **kwargs)
    else:
        with pytest.raises(BusinessRuleViolation):
            product(merchant, **kwargs)


@pytest.mark.parametrize("flag", ["dishonest_debtor", "abnormal_operations"])
def test_listed_merchants_cannot_sell(flag):
    with pytest.raises(BusinessRuleViolation) as info:
        product(active(**{flag: True}))
    assert info.value.code == "merchant_may_not_sell"


def test_warned_and_delisted_merchants_cannot_sell():
    for status in ("warned", "delisted"):
        merchant = active()
        merchant.apply(model.change_status(merchant, status, "why", "regulator:r"))
        with pytest.raises(BusinessRuleViolation):
            product(merchant)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"price": 0},
        {"bonus": -1},
        {"type": "count", "uses": 0},
        {"type": "period", "period_days": 0},
        {"type": "count", "uses": 3, "bonus": 5},
        {"type": "gift"},
    ],
)
def test_malformed_products_are_invalid_input(kwargs):
    with pytest.raises(InvalidInput):
        product(**kwargs)


def test_flags_are_recorded_once_and_lifted():
    merchant = active()
    event = model.set_flag(merchant, "abnormal_operations", True, "samr", "operator:o")
    merchant.apply(event)
    assert merchant.why_not_selling(POLICY) == "merchant is listed: abnormal_operations"
    assert model.set_flag(merchant, "abnormal_operations", True, "samr", "o") is None
    merchant.apply(model.set_flag(merchant, "abnormal_operations", False, "samr", "o"))
    assert merchant.why_not_selling(POLICY) is None and merchant.flags == set()
    merchant.apply(model.set_flag(merchant, "closure_notice", True, "notice", "o"))
    assert merchant.why_not_selling(POLICY) is None, "a notice is the risk code's business"
    with pytest.raises(InvalidInput):
        model.set_flag(merchant, "naughty", True, "x", "o")


NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
SV = {
    "product_id": "p-1",
    "merchant_id": "m-1",
    "type": "stored_value",
    "price": 100_000,
    "bonus": 10_000,
}


def promotion(existing=(), product=SV, merchant=None, **kwargs):
    args = {
        "promotion_id": "promo-1",
        "name": "Spring",
        "bonus": 30_000,
        "starts_at": NOW,
        "ends_at": NOW + timedelta(days=30),
        "now": NOW,
        "created_by": "merchant:m-1",
        **kwargs,
    }
    return products.create_promotion(merchant or active(), product, list(existing), POLICY, **args)


def test_a_promotion_replaces_the_bonus_only_while_it_runs():
    made = promotion().__dict__
    assert made["bonus"] == 30_000 and made["ends_at"] == "2026-12-22T12:00:00+00:00"
    for moment, bonus in (
        (NOW - timedelta(seconds=1), 10_000),
        (NOW, 30_000),
        (NOW + timedelta(days=30) - timedelta(seconds=1), 30_000),
        (NOW + timedelta(days=30), 10_000),
    ):
        assert products.price_at(SV, [made], moment)["bonus"] == bonus, moment


@pytest.mark.parametrize(
    "kwargs, error, code",
    [
        ({"bonus": 30_001}, BusinessRuleViolation, "policy_breach"),
        ({"ends_at": NOW + timedelta(days=91)}, BusinessRuleViolation, "policy_breach"),
        (
            {"product": {**SV, "type": "count", "bonus": 0}},
            BusinessRuleViolation,
            "promotion_not_applicable",
        ),
        ({"ends_at": NOW}, InvalidInput, "invalid_promotion"),
        (
            {"starts_at": NOW - timedelta(days=40), "ends_at": NOW - timedelta(days=1)},
            InvalidInput,
            "invalid_promotion",
        ),
        ({"bonus": -1}, InvalidInput, "invalid_promotion"),
    ],
)
def test_promotions_are_checked_against_the_policy(kwargs, error, code):
    with pytest.raises(error) as info:
        promotion(**kwargs)
    assert info.value.code == code


def test_promotions_of_a_product_may_not_overlap_and_listed_merchants_run_none():
    first = promotion().__dict__
    with pytest.raises(Conflict):
        promotion([first], starts_at=NOW + timedelta(days=29), ends_at=NOW + timedelta(days=40))
    after = promotion([first], starts_at=NOW + timedelta(days=30), ends_at=NOW + timedelta(days=40))
    assert after.starts_at == first["ends_at"], "back to back is not an overlap"
    with pytest.raises(BusinessRuleViolation):
        promotion(merchant=active(dishonest_debtor=True))


@pytest.mark.parametrize(
    "industry, kwargs, fields",
    [
        ("fitness", {"price": 500_001}, {"cards.max_card_price": "price"}),
        ("fitness", {"bonus": 30_001}, {"cards.max_bonus_ratio_percent": "bonus"}),
        ("fitness", {"validity_days": 1096}, {"cards.max_validity_days": "validity_days"}),
        ("fitness", {"type": "count", "uses": 61}, {"sectors.fitness.max_lessons": "uses"}),
        (
            "fitness",
            {"type": "period", "period_days": 731},
            {"sectors.fitness.max_membership_days": "period_days"},
        ),
        (
            "education",
            {"type": "count", "uses": 10, "validity_days": 91},
            {"sectors.education.max_period_days": "validity_days"},
        ),
        (
            "education",
            {"type": "period", "period_days": 91},
            {"sectors.education.max_period_days": "period_days"},
        ),
    ],
)
def test_each_policy_breach_names_the_field_that_breaks_it(industry, kwargs, fields):
    """A form shows each refusal next to its field: the breach says which one."""
    with pytest.raises(BusinessRuleViolation) as info:
        product(active(industry), **kwargs)
    named = {b["rule"]: b["field"] for b in info.value.details["breaches"]}
    assert named.items() >= fields.items()


def test_a_promotions_breaches_name_their_fields():
    with pytest.raises(BusinessRuleViolation) as info:
        promotion(bonus=30_001, ends_at=NOW + timedelta(days=91))
    named = {b["rule"]: b["field"] for b in info.value.details["breaches"]}
    assert named == {
        "cards.max_bonus_ratio_percent": "bonus",
        "cards.max_promotion_days": "ends_at",
    }
