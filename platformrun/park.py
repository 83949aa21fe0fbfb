"""Parked events of a service's outbox relay, for operators.

    python -m platformrun.park list   --service escrow [--store-url URL]
    python -m platformrun.park replay --service escrow [--store-url URL] [--amqp-uri URI] \\
        (POSITION... | --all)
    python -m platformrun.park drop   --service escrow [--store-url URL] (POSITION... | --all)

`replay` publishes each event again exactly as the relay would, declaring first the queues of
the platform's handlers of that service's events, and unparks it once the broker confirmed it;
an event refused again stays parked, with the reason printed. `drop` removes the record and
publishes nothing: the event stays in the store, and its consumers never receive it (see
messaging/park.py). The URLs default to $STORE_URL and $AMQP_URI.

These are the relay's parked events (a service's outbox). Messages a consumer parked (its
handler failed on them `[consumers] delivery_limit` times) are in RabbitMQ, in the parking
queue of the handler's queue: `python -m messaging.park list|replay|drop --queue QUEUE`.
"""

from __future__ import annotations

import argparse
import os
import sys

from eventstore.factory import open_event_log
from eventstore.port import EventLog
from eventstore.records import ParkedEvent
from messaging import park
from platformrun.registry import bindings_of
from policy import load_policy


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
            for event in park.all_parked(store, args.service):
                print(
                    f"{event.position}\t{event.event_id}\t{event.type}\t"
                    f"{event.parked_at.isoformat() if event.parked_at else ''}\t{event.error}"
                )
            return 0
        chosen, unknown = park.chosen(store, args.service, args.positions, args.all)
        for position in unknown:
            print(f"{position}: not parked", file=sys.stderr)
        if args.command == "drop":
            for event in chosen:
                store.unpark(park.relay_name(args.service), event.position)
                print(f"{event.position}: dropped {event.event_id} ({event.type})")
            return 1 if unknown else 0
        replayed = _replay(store, args.service, args.amqp_uri, chosen)
        return 1 if unknown or not replayed else 0
    finally:
        store.close()


def _replay(store: EventLog, service: str, amqp_uri: str, chosen: list[ParkedEvent]) -> bool:
    """True if every chosen event was re-published."""
    policy = load_policy(os.environ.get("POLICY_FILE") or None)
    publisher = park.Republisher(
        amqp_uri, service, bindings_of(service), policy.relay, policy.consumers
    )
    every = True
    try:
        for event, reason in park.replay(store, service, chosen, publisher):
            if reason is None:
                print(f"{event.position}: re-published {event.event_id} ({event.type})")
            else:
                every = False
                print(f"{event.position}: still parked: {reason}", file=sys.stderr)
    finally:
        publisher.close()
    return every


if __name__ == "__main__":
    sys.exit(main())
