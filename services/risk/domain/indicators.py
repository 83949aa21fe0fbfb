"""A merchant's risk indicators, from what the platform's events say about it.

Stdlib only. Every window is in event time: figures are kept per day of the event's own
timestamp, and a window ending at `as_of` sums the days in [as_of - N days, as_of). A replay of
the same events, in any order, gives the same figures and so the same indicators.

Ratios are integers: percent, per mille, or hundredths, each named so; money is fen.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta

DAY_FIGURES = ("issued_amount", "issued_cards", "redeemed_amount", "refunded_cards")


@dataclass
class MerchantFigures:
    """What the risk service knows of one merchant, folded from events."""

    merchant_id: str
    days: dict[str, dict[str, int]] = field(default_factory=dict)
    """ISO date -> DAY_FIGURES for that day (event time)."""
    deposited: int = 0
    released: int = 0
    refunded: int = 0
    upfront: int = 0
    open_cards: int = 0
    open_complaints: set[str] = field(default_factory=set)
    complaints_opened: dict[str, str] = field(default_factory=dict)
    """complaint id -> the ISO time it was filed."""
    complaint_consumers: dict[str, str] = field(default_factory=dict)
    """complaint id -> the consumer who filed it."""
    unfounded_complaints: set[str] = field(default_factory=set)
    """Complaints a regulator found unfounded: they count for nothing."""
    status: str = "active"
    """The merchant's status as the merchant service last published it."""
    first_seen: str | None = None
    last_redemption: str | None = None
    bonus_percent: dict[str, int] = field(default_factory=dict)
    """product id -> bonus / price of each live stored-value product, in percent."""
    product_prices: dict[str, int] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    def add(self, at: str, name: str, amount: int = 1) -> None:
        day = self.days.setdefault(at[:10], dict.fromkeys(DAY_FIGURES, 0))
        day[name] += amount
        if self.first_seen is None or at < self.first_seen:
            self.first_seen = at

    def window(self, name: str, as_of: datetime, days: int) -> int:
        first = (as_of - timedelta(days=days)).date().isoformat()
        last = as_of.date().isoformat()
        return sum(d[name] for day, d in self.days.items() if first < day <= last)

    def complainants(self, as_of: datetime, days: int) -> set[str]:
        """The consumers behind the complaints filed in the window (the same days as
        `window`), leaving out the complaints found unfounded."""
        first = (as_of - timedelta(days=days)).date().isoformat()
        last = as_of.date().isoformat()
        return {
            self.complaint_consumers[c]
            for c, at in self.complaints_opened.items()
            if first < at[:10] <= last
            and c in self.complaint_consumers
            and c not in self.unfounded_complaints
        }

    def counted_complaints(self, as_of: datetime, days: int, customers: Set[str]) -> int:
        """What the complaint rate and the surge count: one per consumer who complained in
        the window and has a relationship with the merchant (`customers`: a card or a
        confirmed spend). A stranger's complaints, however many, and a customer's second
        and third count for nothing, so one person cannot make a merchant red."""
        return len(self.complainants(as_of, days) & customers)

    @property
    def escrow_held(self) -> int:
        return self.deposited - self.upfront - self.released - self.refunded

    @property
    def outstanding(self) -> int:
        """What open cards are owed, at the price paid. Money released from escrow counts as
        served; an up-front share counts as owed until then, which errs on the side of more
        liability and less coverage."""
        return self.deposited - self.released - self.refunded


@dataclass(frozen=True)
class Indicators:
    issued_30: int
    issued_90: int
    spike_percent: int
    """30-day issuance over the average 30 days of the (at most) 90 observed, in percent."""
    redeemed_30: int
    redeemed_90: int
    liability_months_x100: int | None
    """Outstanding balance over average monthly redemptions; None: owed with no redemptions."""
    coverage_percent: int | None
    """Escrow held over outstanding liability; None when nothing is owed."""
    refund_rate_per_mille: int
    complaints_per_thousand_cards: int
    unresolved_complaints_percent: int
    dormancy_days: int
    """Days since the last redemption while something is owed; 0 when nothing is owed."""
    max_bonus_percent: int
    observed_days: int
    """Days since the merchant was first seen, capped to the long window."""
    outstanding: int
    escrow_held: int
    open_cards: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


PUBLIC_METRICS = frozenset(
    {
        "spike_percent",
        "liability_months_x100",
        "coverage_percent",
        "refund_rate_per_mille",
        "complaints_per_thousand_cards",
        "unresolved_complaints_percent",
        "dormancy_days",
        "max_bonus_percent",
        "observed_days",
        "open_cards",
    }
)
"""What anyone may read of a merchant's indicators: ratios, days and counts. The money
figures (issuance, redemptions, outstanding balance, escrow held) are the merchant's and its
regulators', as in /stats; an indicator not named here stays private until it is added."""


def public_metrics(metrics: dict) -> dict:
    return {name: value for name, value in metrics.items() if name in PUBLIC_METRICS}


def _days_between(earlier: str | None, later: datetime) -> int:
    if earlier is None:
        return 0
    return max(0, (later - datetime.fromisoformat(earlier)).days)


def compute(
    figures: MerchantFigures,
    as_of: datetime,
    *,
    short_days: int = 30,
    long_days: int = 90,
    customers: Set[str] = frozenset(),
) -> Indicators:
    """`customers`: the complaining consumers known to have a card or a confirmed spend at
    the merchant; only their complaints count toward the complaint rate."""
    issued_short = figures.window("issued_amount", as_of, short_days)
    issued_long = figures.window("issued_amount", as_of, long_days)
    observed = min(long_days, max(short_days, _days_between(figures.first_seen, as_of)))
    # The long window's average per short window; a young merchant is compared with its own
    # history so far, not with 90 days it has not lived.
    spike = issued_short * 100 * observed // (issued_long * short_days) if issued_long else 0
    redeemed_long = figures.window("redeemed_amount", as_of, long_days)
    outstanding = figures.outstanding
    monthly = redeemed_long * 30 // observed if observed else 0
    if outstanding <= 0:
        liability = 0
    elif monthly == 0:
        liability = None
    else:
        liability = outstanding * 100 // monthly
    coverage = figures.escrow_held * 100 // outstanding if outstanding > 0 else None
    issued_cards = figures.window("issued_cards", as_of, long_days)
    refunded_cards = figures.window("refunded_cards", as_of, long_days)
    refund_rate = refunded_cards * 1000 // issued_cards if issued_cards else 0
    complaints = figures.counted_complaints(as_of, short_days, customers)
    per_thousand = complaints * 1000 // max(1, figures.open_cards) if complaints else 0
    # The unresolved share is about the merchant answering: every complaint it must answer
    # counts, a stranger's too, but not one a regulator found unfounded.
    filed = [
        c
        for c, at in figures.complaints_opened.items()
        if as_of - datetime.fromisoformat(at) <= timedelta(days=long_days)
        and c not in figures.unfounded_complaints
    ]
    unresolved = sum(c in figures.open_complaints for c in filed)
    dormancy = 0
    if outstanding > 0:
        dormancy = _days_between(figures.last_redemption or figures.first_seen, as_of)
    return Indicators(
        issued_30=issued_short,
        issued_90=issued_long,
        spike_percent=spike,
        redeemed_30=figures.window("redeemed_amount", as_of, short_days),
        redeemed_90=redeemed_long,
        liability_months_x100=liability,
        coverage_percent=coverage,
        refund_rate_per_mille=refund_rate,
        complaints_per_thousand_cards=per_thousand,
        unresolved_complaints_percent=unresolved * 100 // len(filed) if filed else 0,
        dormancy_days=dormancy,
        max_bonus_percent=max(figures.bonus_percent.values(), default=0),
        observed_days=min(long_days, _days_between(figures.first_seen, as_of)),
        outstanding=outstanding,
        escrow_held=figures.escrow_held,
        open_cards=figures.open_cards,
    )
