"""How the outbox relay (messaging.relay.OutboxRelay) handles what the broker refuses.

No single event may hold the relay (and with it every event behind it). An event is parked,
with its error, in the store's `parked_events` table, written in the same transaction that
moves the position past it, when
* it cannot be encoded within the policy's bounds (`messaging.outbound`): at once;
* the broker refuses it `[relay] max_refusals` times in a row: a nack or a return names the
  message; a refusal that closes the channel or the connection (a message over the broker's
  size limit, a frame error) names none, so the relay then publishes one message at a time
  up to where the window reached, and the refusal that follows names its event.
Parking logs an ERROR (event id, type and position, never its data) and shows in /healthz;
`python -m platformrun.park` lists, re-publishes or drops parked events. A broker that is
merely away (connection lost, broker shutting down) parks nothing: the relay waits for it.

`RefusalHandling` holds these methods of the relay; `OutboxRelay` inherits them, and its
confirm window (`OutboxRelay._drain`) calls them.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventstore.port import EventLog
from eventstore.records import ParkedEvent
from policy import RelayRules

log = logging.getLogger("relay")

# Broker reply codes that refuse what was sent, as opposed to a broker that is going away:
# 406 PRECONDITION_FAILED (e.g. a message over max_message_size), 501 FRAME_ERROR (a frame
# over frame_max), 502 SYNTAX_ERROR, 505 UNEXPECTED_FRAME.
REFUSAL_REPLY_CODES = frozenset({406, 501, 502, 505})


@dataclass(slots=True)
class _InFlight:
    position: int
    event_id: str
    type: str
    tag: int | None = None
    """The delivery tag; None for an event never published because it failed its bounds."""
    acked: bool = False
    refusal: str | None = None
    final: bool = False
    """The refusal cannot change by trying again: park at once."""


class RefusalHandling:
    """The outbox relay's handling of refused events: counting refusals in a row, narrowing
    the window to one after a refusal that names no message, parking, abandoning the window."""

    if TYPE_CHECKING:
        # Provided by OutboxRelay (messaging/relay.py).
        store: EventLog
        service: str
        tracking_name: str
        rules: RelayRules
        parked: int
        saved_position: int
        _channel: Any
        _in_flight: deque[_InFlight]
        _confirmed_position: int
        _refusals: dict[str, int]
        _one_at_a_time_until: int

        def _maybe_save(self, force: bool = False) -> None: ...

    def _on_returned(self, _channel, method, properties, _body) -> None:
        # The broker acks a returned message right after returning it; _drain sees both.
        log.error(
            "relay %s: event %s (%s) was unroutable: %s; no queue is bound to it",
            self.service,
            properties.message_id,
            method.routing_key,
            method.reply_text,
        )
        for entry in self._in_flight:
            if entry.event_id == properties.message_id:
                entry.refusal = f"unroutable: {method.reply_code} {method.reply_text}"

    def _count_refusal(self, entry: _InFlight) -> int:
        count = self._refusals[entry.event_id] = self._refusals.get(entry.event_id, 0) + 1
        log.warning(
            "relay %s: the broker refused event %s (%s) at position %s (%s of %s): %s",
            self.service,
            entry.event_id,
            entry.type,
            entry.position,
            count,
            self.rules.max_refusals,
            entry.refusal,
        )
        return count

    def _on_broker_refusal(self, reply_code: int, reply_text: str) -> None:
        """The broker closed the channel or connection over something the relay sent, without
        naming the message: blame the only unconfirmed one, or narrow the window to one."""
        if reply_code not in REFUSAL_REPLY_CODES:
            return
        unconfirmed = [entry for entry in self._in_flight if not entry.acked]
        if not unconfirmed:
            return
        if len(unconfirmed) > 1 or unconfirmed[0] is not self._in_flight[0]:
            self._one_at_a_time_until = max(entry.position for entry in self._in_flight)
            log.warning(
                "relay %s: refused by the broker (%s %s); publishing one event at a time"
                " up to position %s",
                self.service,
                reply_code,
                reply_text,
                self._one_at_a_time_until,
            )
            return
        entry = unconfirmed[0]
        entry.refusal = f"refused by the broker: {reply_code} {reply_text}"
        if self._count_refusal(entry) >= self.rules.max_refusals:
            self._park(entry)
        else:
            self._maybe_save(force=True)

    def _park(self, entry: _InFlight) -> bool:
        """Records the event as parked and moves the saved position past it, atomically.
        Everything before it in the window is confirmed, so the position may pass them too."""
        parked = ParkedEvent(entry.position, entry.event_id, entry.type, entry.refusal or "")
        try:
            self.store.park(self.tracking_name, parked)
        except NotImplementedError:
            log.error(
                "relay %s: event %s at position %s is refused (%s) and this store cannot"
                " park it; retrying",
                self.service,
                entry.event_id,
                entry.position,
                entry.refusal,
            )
            return False
        self._refusals.pop(entry.event_id, None)
        self._confirmed_position = self.saved_position = entry.position
        self.parked += 1
        log.error(
            "relay %s: PARKED event %s (%s) at position %s: %s; see `python -m"
            " platformrun.park list --service %s`",
            self.service,
            entry.event_id,
            entry.type,
            entry.position,
            entry.refusal,
            self.service,
        )
        return True

    def _abandon_window(self) -> None:
        # Close the channel: everything unconfirmed is published again from the saved position.
        # A refused event waits out the reconnect delay first, so a refusal cannot spin.
        if self._channel is not None and self._channel.is_open:
            self._channel.close()
