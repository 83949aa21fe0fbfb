"""The notary: turns integration events into ledger entries, signs one checkpoint per batch,
collects witness cosignatures, and answers checkpoint, entry, receipt and consistency queries.

No nameko here: the service wraps it. The log never signs two inconsistent checkpoints: each
new checkpoint is signed only after a consistency proof from the last signed one verifies
against the tree inside the same transaction.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger import merkle
from ledger.entry import CONSUMER_FIELD, Pseudonyms, build_entry, parse_entry, summarise
from ledger.log import Ledger, Prover, StoredCheckpoint
from ledger.note import (
    Checkpoint,
    Signer,
    add_signatures,
    sign_note,
    split_note,
    verified_by,
)

log = logging.getLogger("ledger.notary")


class InconsistentCheckpoint(RuntimeError):
    """Signing this tree would contradict a checkpoint the log already signed."""


class ForeignLogKey(RuntimeError):
    """The ledger's latest checkpoint was not signed with this notary's key: it would sign a
    log no witness knows it by, so it does not start."""


class Cosigner(Protocol):
    """A witness as the notary asks it (ledger.witness_client.WitnessClient)."""

    def cosign(self, ledger: Ledger, size: int, note: str) -> str: ...


@dataclass(frozen=True)
class WitnessEndpoint:
    name: str
    client: Cosigner
    vkey: str = ""
    """The witness's verifier key (c2sp.org/signed-note), as published to verifiers."""


class Notary:
    def __init__(
        self,
        ledger: Ledger,
        signer: Signer,
        *,
        witnesses: Sequence[WitnessEndpoint] = (),
        quorum: Sequence[str] | None = None,
        clock: Callable[[], float] = time.time,
        pseudonyms: Pseudonyms | None = None,
    ):
        self.ledger = ledger
        self.pseudonyms = pseudonyms
        self.signer = signer
        self.origin = signer.name
        self.witnesses = list(witnesses)
        self.quorum = list(quorum if quorum is not None else (w.name for w in self.witnesses))
        self.clock = clock
        latest = ledger.latest_checkpoint()
        if latest is not None and not verified_by(latest.note, [signer.verifier]):
            raise ForeignLogKey(
                f"the checkpoint of size {latest.size} in {ledger.path} is not signed by this"
                f" log key ({signer.verifier.vkey()}): LEDGER_DIR/keys/log.key is not the key"
                " this ledger was written with"
            )
        self._last_signed = (latest.size, latest.root) if latest else (0, merkle.EMPTY_ROOT)
        self._cosign_lock = threading.Lock()

    def keys(self) -> dict:
        """The verifier keys a checkpoint is checked with: the log's and each witness's
        (c2sp.org/signed-note vkeys), and the witnesses whose cosignatures publish one."""
        return {
            "log": {"origin": self.origin, "vkey": self.signer.verifier.vkey()},
            "witnesses": [{"name": w.name, "vkey": w.vkey} for w in self.witnesses if w.vkey],
            "quorum": list(self.quorum),
        }

    # --- writing: the single writer calls this with a batch ----------------------------------
    def notarise(self, payloads: Sequence[dict]) -> list[int]:
        """Appends each event once (by event id) in one transaction with one checkpoint."""
        pseudonym = self.pseudonyms.of if self.pseudonyms else None
        items = [(p["event_id"], summarise(p, pseudonym)) for p in payloads]
        signed: list[tuple[int, bytes]] = []
        indexes = self.ledger.append_batch(
            items,
            build=build_entry,
            sign=lambda size, root, prove: self._sign(size, root, prove, signed),
        )
        if signed:  # only once the batch, and so its checkpoint, has committed
            self._last_signed = signed[0]
        return indexes

    def _sign(self, size: int, root: bytes, prove: Prover, signed: list) -> str:
        old_size, old_root = self._last_signed
        if old_size and not merkle.verify_consistency(
            old_size, size, prove(old_size), old_root, root
        ):
            raise InconsistentCheckpoint(
                f"tree of size {size} does not extend the signed checkpoint of size {old_size}"
            )
        signed.append((size, root))
        return sign_note(Checkpoint(self.origin, size, root).body(), self.signer)

    # --- witnesses ------------------------------------------------------------------------------
    def cosign_latest(self) -> dict[str, str]:
        """Asks every witness missing from the newest checkpoint; returns who refused and why."""
        with self._cosign_lock:
            latest = self.ledger.latest_checkpoint()
            if latest is None:
                return {}
            problems = {}
            for witness in self.witnesses:
                if witness.name in latest.cosignatures:
                    continue
                try:
                    line = witness.client.cosign(self.ledger, latest.size, latest.note)
                except Exception as exc:  # noqa: BLE001 - reported and retried later
                    problems[witness.name] = f"{type(exc).__name__}: {exc}"
                    log.warning(
                        "witness %s did not cosign size %s: %s", witness.name, latest.size, exc
                    )
                    continue
                self.ledger.add_cosignature(latest.size, witness.name, line)
            return problems

    # --- reading --------------------------------------------------------------------------------
    def published(self) -> StoredCheckpoint | None:
        """The newest checkpoint that every quorum witness has cosigned."""
        return self.ledger.latest_checkpoint(self.quorum)

    def checkpoint_view(self, checkpoint: StoredCheckpoint) -> dict:
        note = add_signatures(checkpoint.note, list(checkpoint.cosignatures.values()))
        _, lines = split_note(note)
        signatures = []
        for line in lines:
            name, _, encoded = line[2:].partition(" ")
            raw = base64.b64decode(encoded)
            signatures.append(
                {"signer": name, "key_id": raw[:4].hex(), "sig": base64.b64encode(raw[4:]).decode()}
            )
        return {
            "origin": self.origin,
            "size": checkpoint.size,
            "root_hash": checkpoint.root.hex(),
            "signatures": signatures,
            "note": note,
        }

    def checkpoint(self) -> dict | None:
        published = self.published()
        return None if published is None else self.checkpoint_view(published)

    def entries(self, start: int, end: int) -> list[dict]:
        return [
            {"index": index, "entry": base64.b64encode(entry).decode()}
            for index, entry in self.ledger.entries(start, end)
        ]

    def merchant_entries(self, merchant_id: str, after: str = "", limit: int = 100) -> dict:
        """The entries naming a merchant that the published checkpoint covers (so each has a
        receipt), newest first, `limit` after the cursor `after` (an index; "" for the
        newest): {items: [{index, event_id, type, at, amount?}], next_after}. An item holds
        the entry's event and its main amount, never its parties (a consumer's pseudonym)."""
        published = self.published()
        if published is None:
            return {"items": [], "next_after": None}
        before = published.size
        if after:
            before = min(before, int(after))
        rows = self.ledger.merchant_entries(merchant_id, before, limit + 1)
        items = [_merchant_item(index, parse_entry(entry)) for index, entry in rows[:limit]]
        more = len(rows) > limit
        return {"items": items, "next_after": str(items[-1]["index"]) if more else None}

    def receipt(self, event_id: str, consumer_id: str | None = None) -> dict | None:
        """The inclusion proof of an event against the published checkpoint; None until then.
        With `consumer_id`, `consumer_is_party` says whether the entry names that consumer
        (by the pseudonym under the entry's merchant), for the gateway's access check."""
        index = self.ledger.index_of(event_id)
        published = self.published()
        if index is None or published is None or published.size <= index:
            return None
        entry = self.ledger.entry(index)
        proof = self.ledger.inclusion_proof(index, published.size)
        parties = parse_entry(entry)["parties"]
        is_party = False
        if consumer_id is not None and CONSUMER_FIELD in parties:
            named = (
                consumer_id
                if self.pseudonyms is None
                else self.pseudonyms.of(parties.get("merchant_id", ""), consumer_id)
            )
            is_party = parties[CONSUMER_FIELD] == named
        return {
            "index": index,
            "tree_size": published.size,
            "leaf_hash": merkle.leaf_hash(entry).hex(),
            "entry": base64.b64encode(entry).decode(),
            "inclusion_proof": [h.hex() for h in proof],
            "checkpoint": self.checkpoint_view(published),
            "parties": parties,
            "consumer_is_party": is_party,
        }

    def consistency(self, first: int, second: int) -> list[str]:
        return [h.hex() for h in self.ledger.consistency_proof(first, second)]


MAIN_AMOUNTS = ("amount", "released_amount", "refund_amount", "price")
"""An entry's main amount, the first of these its amounts hold: a payment, deposit or payout
(`amount`), what a redemption or release pays the merchant, a refund, a card's price."""


def _merchant_item(index: int, entry: dict) -> dict:
    event, amounts = entry["event"], entry["amounts"]
    item = {"index": index, "event_id": event["id"], "type": event["type"]}
    item["at"] = event["recorded_at"]
    for name in MAIN_AMOUNTS:
        if name in amounts:
            item["amount"] = amounts[name]
            break
    return item
