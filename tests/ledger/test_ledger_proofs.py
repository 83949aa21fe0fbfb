"""Every proof the Ledger produces verifies, and every single-bit change to one does not."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger, merkle

_LEDGERS: dict[int, tuple[Ledger, list[bytes]]] = {}


def ledger_of(size: int) -> tuple[Ledger, list[bytes]]:
    if size not in _LEDGERS:
        log = Ledger.open(":memory:")
        entries = [f"entry-{i}".encode() for i in range(size)]
        # Several batches, so trees built across batch boundaries are exercised too.
        for start in range(0, size, 97):
            log.append_batch(entries[start : start + 97])
        _LEDGERS[size] = (log, [merkle.leaf_hash(e) for e in entries])
    return _LEDGERS[size]


def flip_bit(proof: list[bytes], which: int) -> list[bytes]:
    item, bit = divmod(which, 256)
    item %= len(proof)
    mutated = bytearray(proof[item])
    mutated[bit // 8] ^= 1 << (bit % 8)
    return [*proof[:item], bytes(mutated), *proof[item + 1 :]]


tree = st.integers(min_value=1, max_value=2000).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(1, n))
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree, st.data())
def test_inclusion_proofs_verify_and_mutations_fail(sizes, data):
    n, size = sizes
    log, leaves = ledger_of(n)
    index = data.draw(st.integers(0, size - 1))
    root = log.root(size)
    assert root == merkle.root(leaves[:size])
    proof = log.inclusion_proof(index, size)
    assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
    if proof:
        which = data.draw(st.integers(0, 256 * len(proof) - 1))
        assert not merkle.verify_inclusion(leaves[index], index, size, flip_bit(proof, which), root)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree, st.data())
def test_consistency_proofs_verify_and_mutations_fail(sizes, data):
    n, size2 = sizes
    log, leaves = ledger_of(n)
    size1 = data.draw(st.integers(1, size2))
    proof = log.consistency_proof(size1, size2)
    root1, root2 = log.root(size1), log.root(size2)
    assert merkle.verify_consistency(size1, size2, proof, root1, root2)
    if proof:
        which = data.draw(st.integers(0, 256 * len(proof) - 1))
        assert not merkle.verify_consistency(size1, size2, flip_bit(proof, which), root1, root2)


def test_exhaustive_small_trees():
    for n in range(1, 40):
        log, leaves = ledger_of(n)
        for size in range(1, n + 1):
            root = merkle.root(leaves[:size])
            assert log.root(size) == root
            for index in range(size):
                assert merkle.verify_inclusion(
                    leaves[index], index, size, log.inclusion_proof(index, size), root
                )
            for size1 in range(1, size + 1):
                assert merkle.verify_consistency(
                    size1, size, log.consistency_proof(size1, size), log.root(size1), root
                )


def test_reopened_ledger_continues_the_same_tree(tmp_path):
    path = tmp_path / "ledger.db"
    log = Ledger.open(path)
    log.append_batch([b"a", b"b", b"c"])
    log.close()
    log = Ledger.open(path)
    assert log.size == 3
    assert log.append(b"d") == 3
    assert log.root() == merkle.root([merkle.leaf_hash(x) for x in (b"a", b"b", b"c", b"d")])
    assert log.entry(3) == b"d"
    log.close()


def test_event_ids_are_appended_once(tmp_path):
    log = Ledger.open(tmp_path / "l.db")
    assert log.append_batch([("e1", b"one"), ("e2", b"two"), ("e1", b"one again")]) == [0, 1, 0]
    assert log.append(b"one", event_id="e1") == 0
    assert log.size == 2
    assert log.index_of("e2") == 1


def test_empty_tree_root_and_bad_arguments():
    log = Ledger.open(":memory:")
    assert log.root() == merkle.EMPTY_ROOT
    with pytest.raises(ValueError):
        log.inclusion_proof(0, 0)
    log.append(b"x")
    with pytest.raises(ValueError):
        log.root(2)
