"""What the inspection service keeps of each merchant, folded from the platform's events, and
the credit facts the classification is computed from. Stdlib only.

Every fold is keyed (a card, a complaint, an inspection, a code change at its time), so an
event delivered twice changes nothing. Times are the events' own (ISO strings); days are their
first ten characters.

* Industry and status from the merchant's events (pending until approved).
* Escrow figures as the risk service keeps them: `outstanding` = deposited - released -
  refunded (what open cards are owed), `escrow_held` = that minus the shares paid up front.
* Code history: each risk.HealthCodeChanged.v1 as (time, code). A spell runs from its change's
  day up to (not including) the next change's day; the current one up to today included.
* Complaints: filed, responded (the merchant's answer), and upheld: resolved by a regulator
  (`resolved_by` "regulator:...") with an outcome other than "unfounded", and never ruled
  unfounded. A complaint the consumer closed, or that a regulator found unfounded, is not.
* Refunds: each card's refund with its rule and payment; it is paid on the day the bank's
  statement shows it (the escrow's reconciliation of the refund's day does not list it as
  missing, or a later day lists it as unexpected at the bank). A refund of nothing is paid.
* Reconciliation differences naming the merchant (by its payments and payouts).
* Findings of the inspection's own results, and the visits checked in (by inspection), each
  with its trip (综合查一次: the joint visit it was part of; the quota counts trips) and the
  China day of its first check-in (the quota's year is China's, domain/calendar.py).
* `prune` keeps what some window can still reach: the code changes since the horizon plus the
  last one before it (the spell that runs into every window), complaints, paid refunds and
  differences since the horizon (an unpaid refund stays: it is late until paid), and the
  visits of this year and the last.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services.inspection.domain.calendar import china_day
from services.inspection.domain.classification import (
    Classification,
    CreditFacts,
    Finding,
    classify,
    counted_findings,
)
from services.inspection.domain.rules import InspectionRules

OPERATING = ("active", "warned", "delisted")
"""Statuses of a merchant that trades and may be inspected (not pending, closed, defaulted)."""
UNASSESSED = "unassessed"


def day_of(at: str) -> date:
    """The China day of a time (a date alone is that date): the windows count China's days,
    as the quota's year and the working days do (domain/calendar.py)."""
    return china_day(at)


@dataclass
class MerchantFacts:
    merchant_id: str
    industry: str = ""
    status: str = "pending"
    flags: list[str] = field(default_factory=list)
    white_listed: bool = False
    deposited: int = 0
    upfront: int = 0
    released: int = 0
    refunded: int = 0
    codes: list[list[str]] = field(default_factory=list)
    """[[time, code], ...] in time order: each health-code change."""
    complaints: dict[str, dict] = field(default_factory=dict)
    """id -> {filed, responded, upheld, unfounded} (times or None; unfounded a bool)."""
    refunds: dict[str, dict] = field(default_factory=dict)
    """card id -> {rule, refunded_at, amount, payment_id, paid_on}."""
    differences: dict[str, dict] = field(default_factory=dict)
    """"<day>|<side>|<kind>|<reference>" -> {day, side, kind, reference, amount, count}."""
    findings: dict[str, dict] = field(default_factory=dict)
    """inspection id -> {kind, found_on, rectified_on} (ISO days)."""
    visits: dict[str, str] = field(default_factory=dict)
    """inspection id -> the China day of its first check-in (an on-site visit)."""
    trips: dict[str, str] = field(default_factory=dict)
    """inspection id -> its trip (the joint visit's first checked-in inspection; itself when
    alone). Absent: its own trip."""

    # --- storage -------------------------------------------------------------------------------
    def as_doc(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_doc(cls, doc: dict) -> MerchantFacts:
        return cls(**doc)

    # --- figures -------------------------------------------------------------------------------
    @property
    def outstanding(self) -> int:
        return self.deposited - self.released - self.refunded

    @property
    def escrow_held(self) -> int:
        return self.deposited - self.upfront - self.released - self.refunded

    @property
    def operating(self) -> bool:
        return self.status in OPERATING

    def finding_list(self) -> list[Finding]:
        return [
            Finding(
                f["kind"],
                date.fromisoformat(f["found_on"]),
                date.fromisoformat(f["rectified_on"]) if f.get("rectified_on") else None,
            )
            for f in self.findings.values()
            if f.get("kind")
        ]

    def set_findings(self, findings: Iterable[Finding]) -> None:
        """The caller's findings replace the folded ones."""
        self.findings = {
            f"given-{i}": {
                "kind": f.kind,
                "found_on": f.found_on.isoformat(),
                "rectified_on": f.rectified_on.isoformat() if f.rectified_on else None,
            }
            for i, f in enumerate(findings)
        }

    def visits_in(self, year: int) -> int:
        """Trips in the (China) year: a joint visit counts once, in the year of its first
        check-in."""
        first: dict[str, str] = {}
        for inspection_id, day in self.visits.items():
            trip = self.trips.get(inspection_id, inspection_id)
            first[trip] = min(first.get(trip, day), day)
        return sum(day[:4] == f"{year:04d}" for day in first.values())

    # --- the code history ----------------------------------------------------------------------
    def _spells(self, today: date) -> list[tuple[str, date, date]]:
        """(code, first day, day after the last) of each run of one code up to today."""
        changes = [(day_of(at), code) for at, code in self.codes if day_of(at) <= today]
        spells: list[tuple[str, date, date]] = []
        for i, (start, code) in enumerate(changes):
            end = changes[i + 1][0] if i + 1 < len(changes) else today + timedelta(days=1)
            if spells and spells[-1][0] == code:
                spells[-1] = (code, spells[-1][1], end)
            else:
                spells.append((code, start, end))
        return spells

    def code_on(self, today: date) -> str:
        spells = self._spells(today)
        return spells[-1][0] if spells else UNASSESSED

    def days_since_red(self, today: date) -> int | None:
        """0 while red (or red earlier today), else days since the day its last red spell
        ended (the day of the change away from red); None when never red."""
        reds = [s for s in self._spells(today) if s[0] == "red"]
        if not reds:
            return None
        return max(0, (today - reds[-1][2]).days)

    def days_with(self, code: str, today: date, window_days: int) -> int:
        """Days of the last `window_days` (today included) the merchant had `code`."""
        first = today - timedelta(days=window_days - 1)
        return sum(
            max(0, (min(end, today + timedelta(days=1)) - max(start, first)).days)
            for c, start, end in self._spells(today)
            if c == code
        )

    def green_streak(self, today: date) -> int:
        spells = self._spells(today)
        if not spells or spells[-1][0] != "green":
            return 0
        return (today - spells[-1][1]).days

    def upheld_within(self, today: date, window_days: int) -> int:
        return sum(
            1
            for c in self.complaints.values()
            if c.get("upheld")
            and not c.get("unfounded")
            and 0 <= (today - day_of(c["upheld"])).days < window_days
        )


# --- folding -------------------------------------------------------------------------------------
def _kind(event_type: str) -> str:
    parts = event_type.split(".")
    return parts[1] if len(parts) == 3 else event_type


def fold(facts: MerchantFacts, event_type: str, data: dict, at: str) -> bool:
    """Folds one event about the merchant in; False when it tells the classification nothing.
    A CardRefunded's `payment_id` (which the event does not carry) is its card's, added by the
    caller when known."""
    kind = _kind(event_type)
    if kind == "MerchantApplied":
        facts.industry = data["industry"]
    elif kind == "MerchantApproved":
        if facts.status == "pending":
            facts.status = "active"
    elif kind == "MerchantStatusChanged":
        if facts.status not in ("closed", "defaulted"):
            facts.status = data["status"]
    elif kind == "DefaultConfirmed":
        facts.status = "defaulted"
    elif kind == "MerchantFlagSet":
        flags = set(facts.flags)
        (flags.add if data["on"] else flags.discard)(data["flag"])
        facts.flags = sorted(flags)
    elif kind == "DepositConfirmed":
        facts.deposited += data["amount"]
        facts.upfront += data["upfront_amount"]
    elif kind in ("RedemptionConfirmed", "FundsReleased"):
        facts.released += data["released_amount"]
    elif kind == "CardRefunded":
        if data["card_id"] in facts.refunds:
            return False
        facts.refunded += data["refund_amount"]
        facts.refunds[data["card_id"]] = {
            "rule": data["rule"],
            "refunded_at": data["refunded_at"],
            "amount": data["refund_amount"],
            "payment_id": data.get("payment_id"),
            "paid_on": None if data["refund_amount"] else data["refunded_at"][:10],
        }
    elif kind == "HealthCodeChanged":
        entry = [data["evaluated_at"], data["code"]]
        if entry not in facts.codes:
            facts.codes = sorted([*facts.codes, entry])
    elif kind.startswith("Complaint"):
        return _fold_complaint(facts, kind, data, at)
    elif kind == "ResultRecorded":
        found = facts.findings.setdefault(data["inspection_id"], {"rectified_on": None})
        found.update(kind=data["finding"], found_on=at[:10])
    elif kind == "RectificationAccepted":
        found = facts.findings.setdefault(data["inspection_id"], {"kind": None, "found_on": None})
        found["rectified_on"] = at[:10]
    elif kind == "CheckedIn":
        seen = facts.visits.get(data["inspection_id"])
        day = china_day(at).isoformat()
        facts.visits[data["inspection_id"]] = min(filter(None, (seen, day)))
        if data.get("trip") and data["trip"] != data["inspection_id"]:
            facts.trips.setdefault(data["inspection_id"], data["trip"])
    else:
        return False
    return True


def _fold_complaint(facts: MerchantFacts, kind: str, data: dict, at: str) -> bool:
    complaint = facts.complaints.setdefault(
        data["complaint_id"],
        {"filed": None, "responded": None, "upheld": None, "unfounded": False},
    )
    if kind == "ComplaintFiled":
        complaint["filed"] = data.get("filed_at") or at
    elif kind == "ComplaintResponded":
        complaint["responded"] = data.get("responded_at") or at
    elif kind == "ComplaintResolved":
        by_regulator = str(data.get("resolved_by", "")).startswith("regulator:")
        if by_regulator and data.get("outcome") != "unfounded":
            complaint["upheld"] = data.get("resolved_at") or at
    elif kind == "ComplaintRuledUnfounded":
        complaint["unfounded"] = True
    else:
        return False
    return True


def reconciled(
    facts: MerchantFacts,
    day: str,
    differences: list[dict],
    *,
    missing_refunds: set[str],
    late_refunds: set[str],
    complete: bool,
) -> None:
    """The escrow's reconciliation of `day`: `differences` are those naming this merchant;
    `missing_refunds` the payment ids of refunds the statement lacks, `late_refunds` those it
    shows that the escrow moved on an earlier day; `complete` False when the report lists
    only some of its differences (then an unlisted refund of the day is not taken as paid)."""
    for found in differences:
        key = f"{day}|{found['side']}|{found['kind']}|{found['reference']}"
        facts.differences[key] = {
            "day": day,
            **{k: found.get(k) for k in ("side", "kind", "reference", "amount", "count")},
        }
    for refund in facts.refunds.values():
        if refund["paid_on"] is not None:
            continue
        refund_day, payment = refund["refunded_at"][:10], refund.get("payment_id")
        if refund_day == day and complete and payment not in missing_refunds:
            refund["paid_on"] = day
        elif payment in late_refunds and refund_day < day:
            refund["paid_on"] = day


def prune(facts: MerchantFacts, today: date, keep_days: int) -> None:
    """Drops what no window can reach any more: complaints, refunds paid and differences
    older than `keep_days`; code changes before it but the last one (its spell runs into the
    window: the day since red, yellow days and the green streak read it); visits before last
    year."""
    horizon = (today - timedelta(days=keep_days)).isoformat()
    before = [entry for entry in facts.codes if entry[0][:10] < horizon]
    facts.codes = before[-1:] + [entry for entry in facts.codes if entry[0][:10] >= horizon]
    last_year = f"{today.year - 1:04d}"
    facts.visits = {k: day for k, day in facts.visits.items() if day[:4] >= last_year}
    facts.trips = {k: trip for k, trip in facts.trips.items() if k in facts.visits}
    facts.complaints = {
        k: c
        for k, c in facts.complaints.items()
        if max(filter(None, (c["filed"], c["responded"], c["upheld"])), default=horizon) >= horizon
    }
    facts.refunds = {
        k: r
        for k, r in facts.refunds.items()
        if r["paid_on"] is None or r["refunded_at"][:10] >= horizon
    }
    facts.differences = {k: d for k, d in facts.differences.items() if d["day"] >= horizon}


# --- the classification --------------------------------------------------------------------------
def to_credit_facts(facts: MerchantFacts, today: date, rules: InspectionRules) -> CreditFacts:
    code = facts.code_on(today)
    return CreditFacts(
        code=code,
        status=facts.status,
        flags=tuple(facts.flags),
        days_since_red=facts.days_since_red(today),
        yellow_days=facts.days_with("yellow", today, rules.credit_c_yellow_window_days),
        green_days=facts.green_streak(today),
        upheld_complaints=facts.upheld_within(today, rules.credit_a_complaint_window_days),
        counted=counted_findings(facts.finding_list(), today, rules),
    )


def classify_merchant(
    facts: MerchantFacts, today: date, rules: InspectionRules, year: int | None = None
) -> Classification:
    """`year`: the quota's (China) calendar year; `today`'s by default."""
    return classify(
        max(facts.outstanding, 0),
        facts.industry,
        to_credit_facts(facts, today, rules),
        white_listed=facts.white_listed,
        visits_this_year=facts.visits_in(today.year if year is None else year),
        rules=rules,
    )


def hours_between(start: str, end: str | datetime) -> int:
    finish = end if isinstance(end, datetime) else datetime.fromisoformat(end)
    begun = datetime.fromisoformat(start)
    if (begun.tzinfo is None) != (finish.tzinfo is None):
        begun, finish = begun.replace(tzinfo=None), finish.replace(tzinfo=None)
    return max(0, int((finish - begun).total_seconds()) // 3600)
