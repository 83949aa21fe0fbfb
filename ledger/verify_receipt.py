#!/usr/bin/env python3
"""Checks a ledger receipt offline. Needs only Python 3 and the `cryptography` package.

    python verify_receipt.py RECEIPT.json --vkey LOG_VKEY --vkey WITNESS_VKEY ... [--quorum NAME]

RECEIPT.json is the body of GET /api/v1/ledger/receipts/{event_id}. The vkeys are the log's
and the witnesses' public keys (c2sp.org/signed-note verifier keys). It checks the log's
signature on the checkpoint, a cosignature from every quorum witness (default: every witness
key given), that the receipt's sizes and root are the checkpoint's, that the leaf hash is
SHA-256(0x00 || entry), the RFC 9162 inclusion proof, and that the entry names its index.
Exit status: 0 valid, 1 invalid, 2 unusable input.
"""

import argparse
import base64
import hashlib
import json
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def sha256(data):
    return hashlib.sha256(data).digest()


def parse_vkey(text):
    name, key_id, material = text.strip().split("+", 2)
    raw = base64.b64decode(material)
    if sha256(name.encode() + b"\n" + raw)[:4].hex() != key_id:
        raise ValueError(f"vkey {name} does not match its key id")
    return {
        "name": name,
        "type": raw[0],
        "key": Ed25519PublicKey.from_public_bytes(raw[1:]),
        "id": bytes.fromhex(key_id),
    }


def signature_valid(vkey, body, line):
    name, _, encoded = line[len("\u2014 ") :].partition(" ")
    raw = base64.b64decode(encoded)
    if not line.startswith("\u2014 ") or name != vkey["name"] or raw[:4] != vkey["id"]:
        return False
    try:
        if vkey["type"] == 0x04:  # cosignature/v1: u64 timestamp || Ed25519 signature
            (stamp,) = struct.unpack(">Q", raw[4:12])
            vkey["key"].verify(raw[12:], f"cosignature/v1\ntime {stamp}\n{body}".encode())
        else:
            vkey["key"].verify(raw[4:], body.encode())
    except (InvalidSignature, struct.error):
        return False
    return True


def inclusion_valid(leaf, index, size, proof, root):
    if not 0 <= index < size:
        return False
    fn, sn, digest = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            digest = sha256(b"\x01" + sibling + digest)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            digest = sha256(b"\x01" + digest + sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and digest == root


def check(receipt, vkeys, quorum):
    checkpoint = receipt["checkpoint"]
    body, _, signatures = checkpoint["note"].rpartition("\n\n")
    body += "\n"
    lines = signatures.rstrip("\n").split("\n")
    origin, size_text, root_b64 = body.rstrip("\n").split("\n")[:3]
    root = base64.b64decode(root_b64)
    logs = [k for k in vkeys if k["type"] == 0x01 and k["name"] == origin]
    if not logs or not any(signature_valid(logs[0], body, line) for line in lines):
        return f"the checkpoint is not signed by the log {origin!r}"
    for name in quorum:
        witness = next((k for k in vkeys if k["name"] == name and k["type"] == 0x04), None)
        if witness is None or not any(signature_valid(witness, body, line) for line in lines):
            return f"no valid cosignature from witness {name!r}"
    size = int(size_text)
    if (checkpoint["size"], checkpoint["root_hash"], checkpoint["origin"]) != (
        size,
        root.hex(),
        origin,
    ) or receipt["tree_size"] != size:
        return "the receipt's sizes or root differ from the signed checkpoint"
    entry = base64.b64decode(receipt["entry"])
    leaf = sha256(b"\x00" + entry)
    if leaf.hex() != receipt["leaf_hash"]:
        return "the leaf hash is not the hash of the entry"
    if json.loads(entry).get("index") != receipt["index"]:
        return "the entry does not name the receipt's index"
    proof = [bytes.fromhex(h) for h in receipt["inclusion_proof"]]
    if not inclusion_valid(leaf, receipt["index"], size, proof, root):
        return "the inclusion proof does not lead to the signed root"
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("receipt")
    parser.add_argument("--vkey", action="append", required=True)
    parser.add_argument(
        "--quorum",
        action="append",
        help="witness names that must cosign (default: every witness vkey)",
    )
    args = parser.parse_args(argv)
    try:
        with open(args.receipt, encoding="utf-8") as source:
            receipt = json.load(source)
        vkeys = [parse_vkey(v) for v in args.vkey]
    except (OSError, ValueError) as exc:
        print(f"unusable input: {exc}", file=sys.stderr)
        return 2
    quorum = args.quorum or [k["name"] for k in vkeys if k["type"] == 0x04]
    try:
        problem = check(receipt, vkeys, quorum)
    except (KeyError, ValueError, TypeError) as exc:
        problem = f"malformed receipt ({type(exc).__name__}: {exc})"
    if problem:
        print(f"INVALID: {problem}")
        return 1
    entry = json.loads(base64.b64decode(receipt["entry"]))
    event = entry.get("event", {})
    print(
        f"VALID: entry {receipt['index']} of {receipt['tree_size']}, signed by the log and "
        f"cosigned by {', '.join(quorum) or 'no witness'}"
    )
    print(f"  event {event.get('id')} ({event.get('type')}), amounts {entry.get('amounts')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
