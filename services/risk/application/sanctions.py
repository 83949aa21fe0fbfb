"""What the risk service's decisions do to a merchant's status: a regulator's disposition of
an alert (a public warning, or delisting: new sales stop), and a red code's passed deadline
(delisting), asked of the merchant service through the Merchants port.

Asking again changes nothing, so a retry after a failure converges. A merchant whose status
cannot go there is left as it is: a closed or defaulted merchant sells nothing already, and a
delisted one is not made merely warned.
"""

from __future__ import annotations

from services.domain_errors import Conflict
from services.risk.application.ports import Merchants

STATUS_OF_DISPOSITION = {"public_warning": "warned", "delisted": "delisted"}
"""The dispositions that change the merchant's status; the others (rectification ordered,
no action) leave it to the merchant."""
UNCHANGED = "unchanged"


def impose(merchants: Merchants, merchant_id: str, status: str, reason: str, by: str) -> str:
    """The merchant's status after asking for `status`, or "unchanged" when its status cannot
    go there."""
    try:
        return merchants.change_status(merchant_id, status, reason, by)["status"]
    except Conflict as refused:
        if refused.code != "invalid_transition":
            raise
        return UNCHANGED


def impose_disposition(merchants: Merchants, alert: dict, reason: str, by: str) -> str | None:
    """Applies a resolved alert's disposition to its merchant; None when the disposition
    does not change a status."""
    status = STATUS_OF_DISPOSITION.get(alert.get("disposition") or "")
    if status is None:
        return None
    return impose(merchants, alert["merchant_id"], status, reason, by)
