"""The platform's ledger: an RFC 6962 Merkle log with signed checkpoints and witnesses.

Auditors' scripts use `ledger.merkle` (hashing, proofs, verification) and `ledger.Ledger`.
"""

from ledger.log import Ledger

__all__ = ["Ledger"]
