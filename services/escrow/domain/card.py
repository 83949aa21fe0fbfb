"""A prepaid card and its escrow sub-account.

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
A refund returns what is still held once everything earned has been released, which is the
per-type formula of domain-rules.md: P x remaining value / (P + B), P x remaining uses / N,
P x unserved days / D.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.domain_errors import BusinessRuleViolation, Conflict, InvalidInput, NotFound
from services.escrow.domain.events import (
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

REFUND_RULES = ("cooling_off", "on_request", "expiry", "merchant_default")
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
            )
        elif isinstance(event, RedemptionConfirmed):
            hold = self.holds[event.redemption_id]
            hold.status = "confirmed"
            self.value_used += hold.value
            self.uses_used += hold.uses
            self.released += event.released_amount
        elif isinstance(event, RedemptionVoided):
            self.holds[event.redemption_id].status = event.reason
        elif isinstance(event, FundsReleased):
            self.released += event.released_amount
            self.days_released = max(self.days_released, event.days_elapsed)
        elif isinstance(event, CardRefunded):
            self.refunded += event.refund_amount
            self.status = "expired" if event.rule == "expiry" else "refunded"
        self.version += 1


# --- decisions: each returns the events to append ------------------------------------------------
def _require_active(card: Card) -> tuple[datetime, datetime]:
    """The card's activation and expiry times, which every active card has."""
    if card.status != "active":
        raise Conflict(f"the card is {card.status}", "card_not_active")
    if card.activated_at is None or card.expires_at is None:
        raise AssertionError(f"active card {card.card_id} has no activation or expiry time")
    return card.activated_at, card.expires_at


def confirm_deposit(
    card: Card, payment_id: str, amount: int, now: datetime, *, cooling_off_days: int
) -> list:
    """The whole amount is held at first; the up-front share of an escrow ratio below 100%
    is released when the cooling-off window closes or a spend ends it."""
    p = card.purchase
    if card.status == "abandoned":  # the caller returns money the bank took after all
        raise BusinessRuleViolation(
            "the payment was abandoned before the bank took it", "payment_abandoned"
        )
    if card.status != "pending_payment":
        if p.payment_id == payment_id and card.deposited == amount and not card.returned:
            return []  # the bank confirming twice changes nothing
        raise Conflict(f"the card is {card.status}", "card_not_pending")
    if payment_id != p.payment_id or amount != p.price:
        raise BusinessRuleViolation(
            "the payment does not match the card",
            "payment_mismatch",
            {"expected": p.price, "got": amount},
        )
    escrowed = p.price * p.escrow_ratio_percent // 100
    days = p.period_days if p.card_type == "period" else p.validity_days
    return [
        DepositConfirmed(
            card.card_id,
            p.merchant_id,
            payment_id,
            amount,
            amount,
            0,
            now.isoformat(),
            (now + timedelta(days=days)).isoformat(),
        ),
        CoolingOffStarted(
            card.card_id,
            p.merchant_id,
            amount - escrowed,
            now.isoformat(),
            (now + timedelta(days=cooling_off_days)).isoformat(),
        ),
    ]


def return_deposit(card: Card, payment_id: str, amount: int, reason: str, now: datetime) -> list:
    """The bank took `amount` but the card cannot be activated: all of it goes back. Only a
    card still waiting for its payment, or one abandoned before the bank took it; one the
    bank's other confirmation activated, or that went back already, changes nothing."""
    p = card.purchase
    if (
        card.status not in ("pending_payment", "abandoned")
        or payment_id != p.payment_id
        or amount <= 0
    ):
        return []
    return [
        DepositReturned(
            card.card_id, p.merchant_id, p.consumer_id, payment_id, amount, reason, now.isoformat()
        )
    ]


def abandon_payment(card: Card, reason: str, now: datetime) -> list:
    """The bank never took the payment: the card closes unissued. Only a card still waiting
    for its payment; one activated or returned meanwhile changes nothing."""
    p = card.purchase
    if card.status != "pending_payment":
        return []
    return [
        PaymentAbandoned(
            card.card_id, p.merchant_id, p.consumer_id, p.payment_id, reason, now.isoformat()
        )
    ]


def request_redemption(
    card: Card,
    redemption_id: str,
    *,
    value: int = 0,
    uses: int = 0,
    now: datetime,
    hold_minutes: int,
) -> list:
    _, expires_at = _require_active(card)
    if now >= expires_at:
        raise BusinessRuleViolation("the card has expired", "card_expired")
    kind = card.purchase.card_type
    if kind == "stored_value":
        if value <= 0 or uses:
            raise InvalidInput("a stored-value redemption takes a positive amount")
        available = card.value_left - card.reserved("value")
    elif kind == "count":
        if uses <= 0 or value:
            raise InvalidInput("a count-card redemption takes a positive number of uses")
        available = card.uses_left - card.reserved("uses")
    else:
        if value or uses:
            raise InvalidInput("a period-card check-in takes no amount")
        available = 1
    if max(value, uses) > available:
        raise BusinessRuleViolation(
            "insufficient balance", "insufficient_balance", {"available": available}
        )
    return [
        RedemptionRequested(
            card.card_id,
            card.purchase.merchant_id,
            redemption_id,
            value,
            uses,
            kind == "period",
            now.isoformat(),
            (now + timedelta(minutes=hold_minutes)).isoformat(),
        )
    ]


def _hold(card: Card, redemption_id: str) -> Hold:
    hold = card.holds.get(redemption_id)
    if hold is None:
        raise InvalidInput(f"no redemption {redemption_id} on this card")
    return hold


def confirm_redemption(card: Card, redemption_id: str, now: datetime) -> list:
    """The owner's confirmation: the hold's money moves to the merchant, exactly once. A
    confirmation that arrives after the hold's expiry voids it instead."""
    hold = _hold(card, redemption_id)
    if hold.status == "confirmed":
        return []
    if hold.status != PENDING:
        raise Conflict(f"the redemption was {hold.status}", "redemption_not_pending")
    if now >= hold.expires_at:
        return [RedemptionVoided(card.card_id, redemption_id, "expired", now.isoformat())]
    # A confirmed spend ends cooling-off, so the held up-front share goes with it; a check-in
    # releases nothing else (a period card's days are released by time).
    release = card.due(
        value_used=card.value_used + hold.value, uses_used=card.uses_used + hold.uses
    )
    return [
        RedemptionConfirmed(
            card.card_id,
            card.purchase.merchant_id,
            card.purchase.consumer_id,
            redemption_id,
            release,
            now.isoformat(),
        )
    ]


def void_redemption(card: Card, redemption_id: str, reason: str, now: datetime) -> list:
    """`rejected` by the owner, or `expired` once the hold's time has passed."""
    hold = _hold(card, redemption_id)
    if hold.status == reason:
        return []
    if hold.status != PENDING:
        raise Conflict(f"the redemption was {hold.status}", "redemption_not_pending")
    if reason == "expired" and now < hold.expires_at:
        return []
    return [RedemptionVoided(card.card_id, redemption_id, reason, now.isoformat())]


def release_due(card: Card, now: datetime, *, disputed: bool) -> list:
    """What time has earned the merchant: a period card's elapsed days, and the up-front
    share once cooling-off is over. Nothing while the window holds the card's money, and
    nothing of a card in dispute."""
    if card.status != "active" or disputed or card.cooling_off_holds_money(now):
        return []
    if card.purchase.card_type == "period":
        days = card.days_elapsed(now)
        if days <= card.days_released:
            return []
        return [
            FundsReleased(
                card.card_id,
                card.purchase.merchant_id,
                card.due(days=days),
                "period_elapsed",
                days,
                now.isoformat(),
            )
        ]
    share = card.due()
    if not share:
        return []
    return [
        FundsReleased(
            card.card_id, card.purchase.merchant_id, share, "cooling_off_ended", 0, now.isoformat()
        )
    ]


def refund(
    card: Card,
    rule: str,
    now: datetime,
    *,
    cooling_off_days: int,
    stored_value_formula: str = "pro_rata",
) -> list:
    """The refund by `rule`, with its formula's inputs. Open holds are voided and anything
    the merchant has earned is released first, so the refund is exactly what remains."""
    if rule not in REFUND_RULES:
        raise InvalidInput(f"rule must be one of {', '.join(REFUND_RULES)}")
    activated_at, expires_at = _require_active(card)
    p, stamp = card.purchase, now.isoformat()
    events: list = [
        RedemptionVoided(card.card_id, h.redemption_id, "voided", stamp)
        for h in card.holds.values()
        if h.status == PENDING
    ]
    inputs = {
        "price": p.price,
        "bonus": p.bonus,
        "card_type": p.card_type,
        "value_used": card.value_used,
        "uses_used": card.uses_used,
        "uses": p.uses,
        "period_days": p.period_days,
        "days_elapsed": card.days_elapsed(now),
        "released_before": card.released,
        "formula": "pro_rata",
    }
    if rule == "cooling_off":
        age_days = (now - activated_at).days
        used = any(h.status == "confirmed" for h in card.holds.values())
        ends = card.cooling_off_ends_at or activated_at + timedelta(days=cooling_off_days)
        if used or now > ends:
            raise BusinessRuleViolation(
                f"cooling-off refunds are for unused cards within {cooling_off_days} days",
                "cooling_off_not_applicable",
                {"used": used, "age_days": age_days},
            )
        inputs.update(age_days=age_days, cooling_off_days=cooling_off_days)
    elif rule == "expiry" and now < expires_at:
        raise BusinessRuleViolation("the card has not expired yet", "not_expired")
    release, reason = 0, ""
    if rule == "cooling_off" or card.cooling_off_holds_money(now):
        pass  # inside the window nothing of the card is the merchant's
    elif p.card_type == "period":
        release, reason = card.due(days=card.days_elapsed(now)), "period_elapsed"
    elif (
        p.card_type == "stored_value"
        and stored_value_formula == "list_price"
        and rule == "on_request"
    ):
        # Value consumed at list price, bonus void: a fen of price per fen of value used.
        inputs["formula"] = "list_price"
        release = min(
            max(0, max(min(card.value_used, p.price), card.upfront_share) - card.released),
            card.held,
        )
        reason = "list_price_refund"
    else:
        release, reason = card.due(), "cooling_off_ended"  # an up-front share not yet paid
    if release:
        events.append(
            FundsReleased(
                card.card_id,
                p.merchant_id,
                release,
                reason,
                card.days_elapsed(now) if p.card_type == "period" else 0,
                stamp,
            )
        )
    events.append(
        CardRefunded(
            card.card_id, p.merchant_id, p.consumer_id, rule, card.held - release, inputs, stamp
        )
    )
    return events
