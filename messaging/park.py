"""Parked events of a service's outbox relay: listed, re-published or dropped; and, as
`python -m messaging.park`, the messages a consumer parked (messaging.parked):

    python -m messaging.park list   --queue QUEUE [--queue ...] [--amqp-uri URI]
    python -m messaging.park replay --queue QUEUE (EVENT_ID... | --all)
    python -m messaging.park drop   --queue QUEUE (EVENT_ID... | --all)

QUEUE is the consumer's queue (as /healthz and the ERROR log name it), not its `.parked` one.
`replay` puts each message back on QUEUE, confirmed by the broker, before it leaves the
parking queue; `drop` removes it. The URI defaults to $AMQP_URI, the policy to $POLICY_FILE.

The operators' command is `python -m platformrun.park`, which gives these the queues of the
platform's handlers. `replay` publishes each event again exactly as the relay would (same
bounds, persistent, mandatory, with the broker's confirm) and removes it from the parked table
only once the broker has confirmed it; an event refused again stays parked, with the reason.
`drop` removes the record and publishes nothing: the event stays in the store, and its
consumers never receive it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator

import pika
import pika.exceptions

from eventstore.port import EventLog
from eventstore.records import ParkedEvent
from messaging import outbound, queues
from messaging.topology import QueueBinding
from messaging.wire import exchange_name
from policy import ConsumerRules, RelayRules, load_policy


def relay_name(service: str) -> str:
    return f"relay:{service}"


def all_parked(store: EventLog, service: str) -> list[ParkedEvent]:
    found, after = [], 0
    while page := store.parked(relay_name(service), after):
        found += page
        after = page[-1].position
    return found


def chosen(
    store: EventLog, service: str, positions: list[int], every: bool
) -> tuple[list[ParkedEvent], list[int]]:
    """The parked events at `positions` (or all of them), and the positions not parked."""
    parked = {event.position: event for event in all_parked(store, service)}
    if every:
        return list(parked.values()), []
    return (
        [parked[p] for p in positions if p in parked],
        [p for p in positions if p not in parked],
    )


class Republisher:
    """One blocking connection with publisher confirms; declares what the relay declares."""

    def __init__(
        self,
        amqp_uri: str,
        service: str,
        bindings: list[QueueBinding],
        rules: RelayRules,
        queue_rules: ConsumerRules,
    ):
        self.service, self.rules = service, rules
        self.exchange = exchange_name(service)
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
        for binding in bindings:
            self.channel.queue_declare(
                queues.parked_queue_name(binding.queue),
                durable=True,
                arguments=queues.parked_queue_arguments(queue_rules),
            )
            self.channel.queue_declare(
                binding.queue,
                durable=True,
                arguments=queues.queue_arguments(binding.queue, queue_rules),
            )
            self.channel.queue_bind(binding.queue, self.exchange, routing_key=binding.routing_key)
        self.channel.confirm_delivery()
        self.broken = False

    def publish(self, store: EventLog, parked: ParkedEvent) -> str | None:
        """None once the broker confirmed it, else why not."""
        events = store.read_all(parked.position - 1, 1)
        if not events or events[0].id != parked.event_id:
            return "the event is not at that position in the store"
        try:
            body, properties = outbound.encode(
                self.service, events[0], self.rules, self.connection._impl.params.frame_max
            )
            self.channel.basic_publish(
                self.exchange, events[0].type, body, properties, mandatory=True
            )
        except outbound.Unencodable as exc:
            return str(exc)
        except pika.exceptions.UnroutableError:
            return "unroutable: no queue is bound to it"
        except pika.exceptions.NackError:
            return "nacked by the broker"
        except (
            pika.exceptions.ChannelClosedByBroker,
            pika.exceptions.ConnectionClosedByBroker,
        ) as exc:
            self.broken = True  # the channel is gone: the remaining events are not tried
            return f"refused by the broker: {exc.reply_code} {exc.reply_text}"
        return None

    def close(self) -> None:
        if not self.connection.is_closed:
            self.connection.close()


def replay(
    store: EventLog, service: str, events: list[ParkedEvent], publisher: Republisher
) -> Iterator[tuple[ParkedEvent, str | None]]:
    """Re-publishes each event; yields it with None once the broker confirmed it and it is
    unparked, else with the reason it stays parked."""
    for event in events:
        if publisher.broken:
            yield event, "not tried"
            continue
        reason = publisher.publish(store, event)
        if reason is None:
            store.unpark(relay_name(service), event.position)
        yield event, reason


def main(argv: list[str] | None = None) -> int:
    """The consumer side's parked messages (the relay's parked events: platformrun.park)."""
    from messaging.parked import ParkingQueue

    parser = argparse.ArgumentParser(description="List, replay or drop parked messages")
    parser.add_argument("command", choices=("list", "replay", "drop"))
    parser.add_argument("event_ids", nargs="*", metavar="EVENT_ID")
    parser.add_argument("--queue", action="append", required=True, help="the consumer's queue")
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI"))
    parser.add_argument("--all", action="store_true", help="every parked message")
    args = parser.parse_args(argv)
    if not args.amqp_uri:
        parser.error("--amqp-uri (or AMQP_URI) is required")
    if args.command != "list" and not (args.event_ids or args.all):
        parser.error(f"{args.command} needs event ids or --all")
    rules = load_policy(os.environ.get("POLICY_FILE") or None).consumers
    wanted, done, failed = set(args.event_ids), set(), False
    for queue in args.queue:
        parking = ParkingQueue(args.amqp_uri, queue, rules)
        try:
            if args.command == "list":
                for m in parking.list():
                    print(
                        f"{m.queue}\t{m.event_id}\t{m.event_type}\t{m.parked_at}\t"
                        f"{m.failures}\t{m.error_type}: {m.error}"
                    )
                continue
            replay = args.command == "replay"
            for m, reason in parking.settle(wanted, args.all, replay):
                done.add(m.event_id)
                if reason is None:
                    print(f"{m.queue}: {'replayed' if replay else 'dropped'} {m.event_id}")
                else:
                    failed = True
                    print(f"{m.queue}: {m.event_id} still parked: {reason}", file=sys.stderr)
        finally:
            parking.close()
    for event_id in sorted(wanted - done):
        if args.command != "list":
            failed = True
            print(f"{event_id}: not parked in {', '.join(args.queue)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
