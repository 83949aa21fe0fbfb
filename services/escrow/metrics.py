"""The escrow's money on its operations port, read from one view row when scraped
(application/queries.py `platform_totals`): never a scan of cards or merchants."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily

from eventstore import EventStore
from services.escrow.application import queries

MONEY_BY_STATE = {
    "deposited": ("issuance_amount",),
    "held": ("escrow_held",),
    "released": ("redemption_amount", "upfront_paid"),
    "refunded": ("refund_amount",),
    "outstanding": ("outstanding_balance",),
}
"""state -> the platform totals' figures that make it up (fen)."""
CARDS_BY_STATE = {"issued": "cards_issued", "open": "open_cards", "refunded": "cards_refunded"}


def money_figures(store: EventStore) -> Iterator[GaugeMetricFamily]:
    totals = queries.platform_totals(store=store)
    money = GaugeMetricFamily(
        "prepaid_escrow_money_fen",
        "the platform's prepaid money by state, in fen (held: still in escrow)",
        labels=["state"],
    )
    for state, figures in MONEY_BY_STATE.items():
        money.add_metric([state], sum(totals[name] for name in figures))
    yield money
    cards = GaugeMetricFamily("prepaid_escrow_cards", "cards by state", labels=["state"])
    for state, figure in CARDS_BY_STATE.items():
        cards.add_metric([state], totals[figure])
    yield cards
