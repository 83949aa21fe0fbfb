"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification. Bytes in, bytes out.

    leaf_hash(data)            = SHA-256(0x00 || data)
    node_hash(left, right)     = SHA-256(0x01 || left || right)
    root([])                   = SHA-256("")

Leaf indices are 0-based. A tree of n leaves splits at k, the largest power of two below n;
every range the proofs need is either a perfect subtree aligned on its size or the right edge
of the tree, which `perfect_ranges` breaks into perfect subtrees, so a store that keeps the
perfect subtrees' hashes answers any proof with O(log n) reads.

Edge cases, decided here and pinned by the transparency-dev vectors in the tests:
* inclusion: `index >= size` is rejected, so nothing is included in the empty tree, and the
  leaf hash and root must be 32-byte digests (an empty leaf hash equal to an empty root is
  not a proof);
* consistency: `size1 > size2` is rejected; equal sizes need an empty proof and equal roots;
  `size1 == 0` is rejected, even with an empty proof: every tree extends the empty tree, so
  such a check proves nothing (a witness trusts its first checkpoint instead). With equal
  sizes the roots are compared as given, whatever their length.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()
HASH_SIZE = 32

Subtree = Callable[[int, int], bytes]
"""subtree(start, end) -> the Merkle tree hash of leaves [start, end)."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The tree hash of a list of leaf hashes, folding a compact range as the leaves go by."""
    frontier: list[tuple[int, bytes]] = []  # (size, hash) of perfect subtrees, left to right
    for leaf in leaf_hashes:
        size, digest = 1, leaf
        while frontier and frontier[-1][0] == size:
            left_size, left = frontier.pop()
            size, digest = left_size + size, node_hash(left, digest)
        frontier.append((size, digest))
    return fold_right([digest for _, digest in frontier])


def fold_right(perfect_hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from its perfect subtrees, largest first (RFC 6962 splits left)."""
    if not perfect_hashes:
        return EMPTY_ROOT
    digest = perfect_hashes[-1]
    for left in reversed(perfect_hashes[:-1]):
        digest = node_hash(left, digest)
    return digest


def perfect_ranges(start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) as aligned perfect subtrees, left to right, largest first.

    Valid for the ranges RFC 6962's recursion produces: `start` aligned on the largest power
    of two not above `end - start`.
    """
    ranges = []
    while start < end:
        size = 1 << ((end - start).bit_length() - 1)
        ranges.append((start, start + size))
        start += size
    return ranges


# --- proofs from any store of subtree hashes ------------------------------------------------
def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form PATH(index, D[0:size]), in proof order (leaf upwards)."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form PROOF(size1, D[0:size2]) (RFC 6962 SUBPROOF), in order."""
    if not 0 < size1 < size2:
        raise ValueError(f"no consistency proof from size {size1} to {size2}")
    out: list[tuple[int, int]] = []

    def subproof(m: int, start: int, end: int, complete: bool) -> None:
        # Recursion depth is the tree height: at most 64.
        n = end - start
        if m == n:
            if not complete:
                out.append((start, end))
            return
        k = split_point(n)
        if m <= k:
            subproof(m, start, start + k, complete)
            out.append((start + k, end))
        else:
            subproof(m - k, start + k, end, False)
            out.append((start, start + k))

    subproof(size1, 0, size2, True)
    return out


def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    return [subtree(start, end) for start, end in inclusion_ranges(index, size)]


def consistency_proof(size1: int, size2: int, subtree: Subtree) -> list[bytes]:
    if 0 < size1 == size2:
        return []
    return [subtree(start, end) for start, end in consistency_ranges(size1, size2)]


# --- verification (RFC 9162, sections 2.1.3.2 and 2.1.4.2) -----------------------------------
def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Iterable[bytes], root: bytes
) -> bool:
    if not (isinstance(index, int) and isinstance(size, int)) or not 0 <= index < size:
        return False
    if len(leaf_hash) != HASH_SIZE or len(root) != HASH_SIZE:
        return False
    fn, sn, digest = index, size - 1, leaf_hash
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            digest = node_hash(sibling, digest)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            digest = node_hash(digest, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and digest == root


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> bool:
    if not (isinstance(size1, int) and isinstance(size2, int)):
        return False
    proof = list(proof)
    if size1 <= 0 or size2 < size1:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if not proof:
        return False
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is itself a node of the path
        proof = [root1, *proof]
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first = second = proof[0]
    for node in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first = node_hash(node, first)
            second = node_hash(node, second)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            second = node_hash(second, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and first == root1 and second == root2
