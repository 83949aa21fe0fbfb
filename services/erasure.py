"""Erasure of a person's personal data (crypto-shredding), on request.

Personal data lives only encrypted under the person's own key, in the vault of the service
that keeps it; deleting those keys erases every copy, in every event, backup and ledger
entry (the ledger holds hashes only). `HOLDERS` names, per kind of person, the services whose
vaults hold their keys; each answers the `forget(subject)` RPC.

The operator's command, for a person who asks by another channel (or a merchant):

    AMQP_URI=amqp://... python -m services.erasure consumer <consumer id>
    AMQP_URI=amqp://... python -m services.erasure merchant <merchant id>

A consumer can also erase their own data with `DELETE /api/v1/consumers/me`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

HOLDERS = {
    # complaint texts and the merchants' responses to them (risk), under the consumer's key
    "consumer": ("risk",),
    # the contact phone (merchant), under the merchant's key
    "merchant": ("merchant",),
}


def forget(kind: str, subject: str, call: Callable[[str, str, str], dict]) -> list[dict]:
    """`call(service, method, subject)` is an RPC; every holder forgets, or an error is
    raised (repeating is harmless: forgetting twice changes nothing)."""
    return [call(service, "forget", subject) for service in HOLDERS[kind]]


def main(argv: list[str] | None = None) -> int:
    from nameko.standalone.rpc import ClusterRpcProxy

    parser = argparse.ArgumentParser(
        prog="python -m services.erasure", description="erase a person's personal data for good"
    )
    parser.add_argument("kind", choices=sorted(HOLDERS))
    parser.add_argument("subject", help="the consumer id (token subject) or the merchant id")
    parser.add_argument(
        "--amqp-uri",
        default=os.environ.get("AMQP_URI"),
        help="the platform's broker (default: $AMQP_URI)",
    )
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    if not args.amqp_uri:
        parser.error("no broker: pass --amqp-uri or set AMQP_URI")
    with ClusterRpcProxy({"AMQP_URI": args.amqp_uri}, timeout=args.timeout) as rpc:
        done = forget(
            args.kind,
            args.subject,
            lambda service, method, subject: getattr(rpc[service], method)(subject),
        )
    print(
        json.dumps(
            {"kind": args.kind, "subject": args.subject, "erased_in": [d["service"] for d in done]},
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
