import pytest

from policy import PolicyError, load_policy


def test_shipped_defaults_are_the_sourced_numbers():
    policy = load_policy()
    assert policy.version == 1
    assert policy.cards.max_card_price == 500_000  # 5,000 yuan named-card cap
    assert policy.escrow.ratio_percent == 100
    assert policy.escrow.hold_expiry_minutes == 15
    assert policy.refunds.cooling_off_days == 7
    assert dict(policy.sectors["education"]) == {
        "max_period_days": 90,
        "max_lessons": 60,
        "max_price": 500_000,
        "escrow_ratio_percent": 100,
    }
    assert "dishonest_debtor" in policy.merchants.blocked_flags


@pytest.mark.parametrize(
    "edit, message",
    [
        (("version = 1", "version = 2"), "version"),
        (("ratio_percent = 100", "ratio_percent = 0"), "ratio_percent"),
        (("ratio_percent = 100", "ratio_percent = 100\ntypo_key = 1"), "unknown"),
        (("hold_expiry_minutes = 15", "hold_expiry_minutes = 15.5"), "float"),
        (('stored_value_formula = "pro_rata"', 'stored_value_formula = "other"'), "formula"),
        (("max_uses = 1000", "max_uses = 0"), "positive"),
        (
            ("pending_payment_recheck_minutes = 10", "pending_payment_recheck_minutes = 0"),
            "pending_payment_recheck_minutes",
        ),
        (
            ("pending_payment_abandon_hours = 24", "pending_payment_abandon_hours = 0"),
            "pending_payment_recheck_minutes",
        ),
    ],
)
def test_bad_policy_files_are_refused(tmp_path, edit, message):
    from policy import DEFAULT_FILE

    path = tmp_path / "policy.toml"
    path.write_text(DEFAULT_FILE.read_text().replace(*edit, 1))
    with pytest.raises(PolicyError, match=message):
        load_policy(path)
