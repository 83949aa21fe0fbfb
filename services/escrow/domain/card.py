"""A prepaid card and its escrow sub-account: the state its events fold into.

Money rule, kept after every event: deposited = held + released + refunded, none negative.
What the merchant has earned is computed on cumulative consumption and rounded down once, so
it never gets a fen more than consumption covers, and a fully used card releases its price:
* stored value (price P, bonus B): earned = floor(value used x P / (P + B));
* count (N uses): earned = floor(uses consumed x P / N);
* period (D days): earned = floor(days elapsed x P / D), released at settlement cycles.
A share paid to the merchant up front (escrow ratio below 100%) counts as released already.
Cooling-off (domain-rules.md, "How the platform keeps the cooling-off promise"): until the
window closes, or the first confirmed spend ends the right, nothing of the card reaches the
merchant: the up-front share and a period card's days are held and released afterwards, so a
cooling-off refund returns the whole price. Cards activated before `CoolingOffStarted`
existed had their up-front share paid at once; they replay as they were.

The decisions that append to a card, each returning the events to append, live beside it by
concern: `deposits` (the card's payment), `redemptions` (spends and their holds), `releases`
(what time earns the merchant) and `refunds` (each rule with its formula).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.domain_errors import Conflict, NotFound
from services.escrow.domain import card_codes
from services.escrow.domain.events import (
    CardCodeIssued,
    CardPurchased,
    CardRefunded,
    CoolingOffStarted,
    DepositConfirmed,
    DepositReturned,
    FundsReleased,
    PaymentAbandoned,
    RedemptionConfirmed,
    RedemptionRequested,
    RedemptionVoided,
)

PENDING = "pending_confirmation"


def earned(p: CardPurchased, *, value_used: int, uses_used: int, days: int) -> int:
    if p.card_type == "stored_value":
        return value_used * p.price // (p.price + p.bonus)
    if p.card_type == "count":
        return uses_used * p.price // p.uses
    return min(days, p.period_days) * p.price // p.period_days


@dataclass
class Hold:
    redemption_id: str
    value: int
    uses: int
    check_in: bool
    expires_at: datetime
    status: str = PENDING
    requested_at: str = ""
    closed_at: str = ""
    """When it was confirmed or voided; "" while pending."""


@dataclass
class Card:
    card_id: str
    purchased: CardPurchased | None = None
    """Set by the card's first event; read `purchase`, which every card in a store has."""
    status: str = "pending_payment"
    deposited: int = 0
    released: int = 0
    refunded: int = 0
    upfront_share: int = 0
    """What the merchant gets up front under an escrow ratio below 100%, paid or not yet."""
    value_used: int = 0
    uses_used: int = 0
    days_released: int = 0
    activated_at: datetime | None = None
    expires_at: datetime | None = None
    cooling_off_ends_at: datetime | None = None
    returned: bool = False
    """The deposit went back because the card could not be activated: never issued."""
    issued_code: str = ""
    """From `CardCodeIssued`; read `card_code`, which every card has."""
    holds: dict[str, Hold] = field(default_factory=dict)
    version: int = 0

    @classmethod
    def from_events(cls, card_id: str, events) -> Card:
        card = cls(card_id)
        for event in events:
            card.apply(event)
        return card

    @property
    def purchase(self) -> CardPurchased:
        """What was bought. A card without it has no events: it does not exist."""
        if self.purchased is None:
            raise NotFound(f"no card {self.card_id}")
        return self.purchased

    @property
    def card_code(self) -> str:
        """The code shown at the counter: the one issued with the purchase, or for a card
        bought before codes were issued, the one derived from its id."""
        return self.issued_code or card_codes.derived_code(self.card_id)

    @property
    def held(self) -> int:
        return self.deposited - self.released - self.refunded

    @property
    def upfront(self) -> int:
        """The up-front share paid so far: all of it at once for cards activated before the
        cooling-off hold, otherwise once the window has closed or a spend ended it."""
        return min(self.released, self.upfront_share)

    def cooling_off_holds_money(self, now: datetime) -> bool:
        """True while the card's cooling-off window keeps its money from the merchant:
        until `ends_at` inclusive (a refund is still a cooling-off one then), unless a spend
        was confirmed, which ends the right."""
        return (
            self.cooling_off_ends_at is not None
            and now <= self.cooling_off_ends_at
            and not any(h.status == "confirmed" for h in self.holds.values())
        )

    def reserved(self, attr: str) -> int:
        return sum(getattr(h, attr) for h in self.holds.values() if h.status == PENDING)

    @property
    def value_left(self) -> int:
        return self.purchase.price + self.purchase.bonus - self.value_used

    @property
    def uses_left(self) -> int:
        return self.purchase.uses - self.uses_used

    def days_elapsed(self, now: datetime) -> int:
        if self.activated_at is None:
            return 0
        return max(0, min(self.purchase.period_days, (now - self.activated_at).days))

    def next_release_at(self) -> datetime | None:
        """When money falls due to the merchant by time: a period card's next day, and the
        up-front share held through cooling-off; never inside the window. None once none
        will (what spends release, they release at once)."""
        p, ends = self.purchased, self.cooling_off_ends_at
        if self.status != "active" or p is None or self.activated_at is None:
            return None
        window = ends if ends is not None and self.cooling_off_holds_money(ends) else None
        if p.card_type == "period" and self.days_released < p.period_days:
            due = self.activated_at + timedelta(days=self.days_released + 1)
            return max(due, window) if window else due
        if window and self.released < self.upfront_share:
            return window
        return None

    def due(
        self,
        *,
        value_used: int | None = None,
        uses_used: int | None = None,
        days: int | None = None,
    ) -> int:
        """What the merchant is owed now beyond what it was paid, never more than is held."""
        target = earned(
            self.purchase,
            value_used=self.value_used if value_used is None else value_used,
            uses_used=self.uses_used if uses_used is None else uses_used,
            days=self.days_released if days is None else days,
        )
        return min(max(0, max(target, self.upfront_share) - self.released), self.held)

    def require_active(self) -> tuple[datetime, datetime]:
        """The card's activation and expiry times, which every active card has; a Conflict
        when the card is not active (still unpaid, refunded, expired...)."""
        if self.status != "active":
            raise Conflict(f"the card is {self.status}", "card_not_active")
        if self.activated_at is None or self.expires_at is None:
            raise AssertionError(f"active card {self.card_id} has no activation or expiry time")
        return self.activated_at, self.expires_at

    def check_invariant(self) -> None:
        if (
            min(self.deposited, self.released, self.refunded, self.held) < 0
            or self.deposited != self.held + self.released + self.refunded
        ):
            raise AssertionError(
                f"money rule broken on {self.card_id}: deposited "
                f"{self.deposited}, held {self.held}, released "
                f"{self.released}, refunded {self.refunded}"
            )

    def apply(self, event) -> None:
        if isinstance(event, CardPurchased):
            self.purchased = event
        elif isinstance(event, DepositConfirmed):
            self.status = "active"
            self.deposited = event.amount
            self.released += event.upfront_amount
            self.upfront_share = event.upfront_amount
            self.activated_at = datetime.fromisoformat(event.confirmed_at)
            self.expires_at = datetime.fromisoformat(event.expires_at)
        elif isinstance(event, CoolingOffStarted):
            self.upfront_share += event.deferred_upfront_amount
            self.cooling_off_ends_at = datetime.fromisoformat(event.ends_at)
        elif isinstance(event, DepositReturned):
            self.deposited = event.amount
            self.refunded += event.amount
            self.status, self.returned = "refunded", True
        elif isinstance(event, PaymentAbandoned):
            self.status = "abandoned"
        elif isinstance(event, RedemptionRequested):
            self.holds[event.redemption_id] = Hold(
                event.redemption_id,
                event.value,
                event.uses,
                event.check_in,
                datetime.fromisoformat(event.expires_at),
                requested_at=event.requested_at,
            )
        elif isinstance(event, RedemptionConfirmed):
            hold = self.holds[event.redemption_id]
            hold.status, hold.closed_at = "confirmed", event.confirmed_at
            self.value_used += hold.value
            self.uses_used += hold.uses
            self.released += event.released_amount
        elif isinstance(event, RedemptionVoided):
            hold = self.holds[event.redemption_id]
            hold.status, hold.closed_at = event.reason, event.voided_at
        elif isinstance(event, CardCodeIssued):
            self.issued_code = event.card_code
        elif isinstance(event, FundsReleased):
            self.released += event.released_amount
            self.days_released = max(self.days_released, event.days_elapsed)
        elif isinstance(event, CardRefunded):
            self.refunded += event.refund_amount
            self.status = "expired" if event.rule == "expiry" else "refunded"
        self.version += 1
