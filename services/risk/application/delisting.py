"""The red-code process manager: when a red merchant's deadline to improve passes and it is
still red, it is delisted (new sales stop; its cards may be refunded on request).

It asks the merchant service first and records the decision after, so a crash in between
repeats a request the merchant service treats as done, never a missing delisting. A merchant
closed or defaulted meanwhile stays as it is (sanctions.impose), and its deadline is done.
"""

from __future__ import annotations

from datetime import datetime

from eventstore import EventStore
from services.risk.application import sanctions
from services.risk.application.ports import Merchants
from services.risk.application.projections import CODES, DEADLINES
from services.risk.application.store import CODEC, delisting_stream
from services.risk.domain.events import MerchantDelistingDue


def check_deadlines(
    *, store: EventStore, merchants: Merchants, now: datetime, limit: int = 500
) -> dict:
    counts = {"delisted": 0, "improved": 0}
    stamp = now.isoformat()
    for key, due in store.list_views(DEADLINES, "", limit):
        if key >= stamp:
            break
        code = store.get_view(CODES, due["merchant_id"]) or {"code": "red"}
        still_red = code["code"] == "red"
        if still_red:
            sanctions.impose(
                merchants,
                due["merchant_id"],
                "delisted",
                f"红码整改期限（{due['deadline'][:10]}）已过仍未改善（预警 {due['alert_id']}）",
                "risk:red-code-deadline",
            )
        stream = delisting_stream(due["merchant_id"])
        with store.unit_of_work() as uow:
            if still_red:
                event = MerchantDelistingDue(
                    due["merchant_id"], due["alert_id"], due["deadline"], code["code"], stamp
                )
                uow.append(stream, [CODEC.encode(event)], len(store.read_stream(stream)))
            uow.delete_view(DEADLINES, key)
        counts["delisted" if still_red else "improved"] += 1
    return counts
