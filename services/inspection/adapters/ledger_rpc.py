"""The Ledger port over nameko RPC: `ledger.receipt(event_id)`, with a deadline.

nameko's RpcProxy waits for ever; a ledger that is down would hold one of the service's
workers per draw (check-ins share them). A receipt not had in time, or a ledger not running,
is a commitment this service cannot show to be notarised: the draw answers 409
`commitment_not_notarised`, and the regulator draws again later.
"""

from __future__ import annotations

import logging

import eventlet

log = logging.getLogger("inspection.ledger")

RECEIPT_SECONDS = 5.0


class LedgerOverRpc:
    def __init__(self, proxy, seconds: float = RECEIPT_SECONDS) -> None:
        self._proxy = proxy  # a nameko RpcProxy("ledger")
        self._seconds = seconds

    def receipt(self, event_id: str) -> dict | None:
        try:
            with eventlet.Timeout(self._seconds):
                return self._proxy.receipt.call_async(event_id).result()
        except (eventlet.Timeout, Exception) as failure:  # noqa: BLE001 - any failure: not shown
            log.warning("no ledger receipt for %s: %r", event_id, failure)
            return None
