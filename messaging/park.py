"""Parked events of a service's outbox relay, for operators.

    python -m messaging.park list   --service escrow [--store-url URL]
    python -m messaging.park replay --service escrow [--store-url URL] [--amqp-uri URI] \
        (POSITION... | --all)
    python -m messaging.park drop   --service escrow [--store-url URL] (POSITION... | --all)

`replay` publishes each event again exactly as the relay would (same bounds, persistent,
mandatory, with the broker's confirm) and removes it from the parked table only once the
broker has confirmed it; an event refused again stays parked, with the reason printed.
`drop` removes the record and publishes nothing: the event stays in the store, and its
consumers never receive it. The URLs default to $STORE_URL and $AMQP_URI.
"""
from __future__ import annotations

import argparse
import os
import sys

import pika
import pika.exceptions

from eventstore.factory import open_event_log
from eventstore.port import EventLog
from eventstore.records import ParkedEvent
from messaging import outbound
from messaging.topology import QueueBinding
from messaging.wire import exchange_name
from policy import RelayRules, load_policy


def relay_name(service: str) -> str:
    return f"relay:{service}"


def _all_parked(store: EventLog, service: str) -> list[ParkedEvent]:
    found, after = [], 0
    while page := store.parked(relay_name(service), after):
        found += page
        after = page[-1].position
    return found


def _chosen(store: EventLog, service: str, positions: list[int], every: bool):
    parked = {event.position: event for event in _all_parked(store, service)}
    if every:
        return list(parked.values()), []
    return ([parked[p] for p in positions if p in parked],
            [p for p in positions if p not in parked])


class Republisher:
    """One blocking connection with publisher confirms; declares what the relay declares."""

    def __init__(self, amqp_uri: str, service: str, bindings: list[QueueBinding],
                 rules: RelayRules):
        self.service, self.rules = service, rules
        self.exchange = exchange_name(service)
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
        for binding in bindings:
            self.channel.queue_declare(binding.queue, durable=True)
            self.channel.queue_bind(binding.queue, self.exchange, routing_key=binding.routing_key)
        self.channel.confirm_delivery()
        self.broken = False

    def publish(self, store: EventLog, parked: ParkedEvent) -> str | None:
        """None once the broker confirmed it, else why not."""
        events = store.read_all(parked.position - 1, 1)
        if not events or events[0].id != parked.event_id:
            return "the event is not at that position in the store"
        try:
            body, properties = outbound.encode(self.service, events[0], self.rules,
                                               self.connection._impl.params.frame_max)
            self.channel.basic_publish(self.exchange, events[0].type, body, properties,
                                       mandatory=True)
        except outbound.Unencodable as exc:
            return str(exc)
        except pika.exceptions.UnroutableError:
            return "unroutable: no queue is bound to it"
        except pika.exceptions.NackError:
            return "nacked by the broker"
        except (pika.exceptions.ChannelClosedByBroker,
                pika.exceptions.ConnectionClosedByBroker) as exc:
            self.broken = True  # the channel is gone: the remaining events are not tried
            return f"refused by the broker: {exc.reply_code} {exc.reply_text}"
        return None

    def close(self) -> None:
        if not self.connection.is_closed:
            self.connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="List, re-publish or drop parked events")
    parser.add_argument("command", choices=("list", "replay", "drop"))
    parser.add_argument("positions", nargs="*", type=int, metavar="POSITION")
    parser.add_argument("--service", required=True)
    parser.add_argument("--store-url", default=os.environ.get("STORE_URL"))
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI"))
    parser.add_argument("--all", action="store_true", help="every parked event")
    args = parser.parse_args(argv)
    if not args.store_url:
        parser.error("--store-url (or STORE_URL) is required")
    if args.command != "list" and not (args.positions or args.all):
        parser.error(f"{args.command} needs positions or --all")
    if args.command == "replay" and not args.amqp_uri:
        parser.error("replay needs --amqp-uri (or AMQP_URI)")
    store = open_event_log(args.store_url)
    try:
        if args.command == "list":
            for event in _all_parked(store, args.service):
                print(f"{event.position}\t{event.event_id}\t{event.type}\t"
                      f"{event.parked_at.isoformat() if event.parked_at else ''}\t{event.error}")
            return 0
        chosen, unknown = _chosen(store, args.service, args.positions, args.all)
        for position in unknown:
            print(f"{position}: not parked", file=sys.stderr)
        if args.command == "drop":
            for event in chosen:
                store.unpark(relay_name(args.service), event.position)
                print(f"{event.position}: dropped {event.event_id} ({event.type})")
            return 1 if unknown else 0
        return _replay(store, args, chosen, failed=bool(unknown))
    finally:
        store.close()


def _replay(store: EventLog, args, chosen: list[ParkedEvent], failed: bool) -> int:
    from services.registry import all_bindings

    bindings = [b for b in all_bindings() if b.source_service == args.service]
    publisher = Republisher(args.amqp_uri, args.service, bindings,
                            load_policy(os.environ.get("POLICY_FILE") or None).relay)
    try:
        for event in chosen:
            if publisher.broken:
                failed = True
                print(f"{event.position}: still parked: not tried", file=sys.stderr)
                continue
            reason = publisher.publish(store, event)
            if reason is None:
                store.unpark(relay_name(args.service), event.position)
                print(f"{event.position}: re-published {event.event_id} ({event.type})")
            else:
                failed = True
                print(f"{event.position}: still parked: {reason}", file=sys.stderr)
    finally:
        publisher.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
