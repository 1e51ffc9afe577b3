"""RFC 9162 tree hashing and proofs: published vectors, a naive recursive definition, bit flips refused."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borderwatch.ledger import ProofError, verify_consistency, verify_inclusion
from borderwatch.ledger.merkle import (
    EMPTY_ROOT,
    Node,
    complete_subtree_root,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    proof_nodes,
    root_from_leaf_hashes,
    tree_root,
)
from tests.hypothesis_profiles import examples

# Source: transparency-dev/merkle testonly/constants.go (LeafInputs, RootHashes), the Certificate Transparency
# reference tree of RFC 6962 / RFC 9162 (same hashing).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# Same source (InclusionProofs, ConsistencyProofs): PATH(0, D[0:8]) and PROOF(6, D[0:8]).
CT_PATH_0_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]
CT_PROOF_6_8 = [
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
]


def naive_mth(entries: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, written as the RFC writes it."""
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(entries[:k]) + naive_mth(entries[k:])).digest()


def reader(leaves: list[bytes]) -> Callable[[Node], bytes]:
    hashes = [leaf_hash(e) for e in leaves]

    @cache
    def read(node: Node) -> bytes:
        level, index = node
        chunk = hashes[index << level : (index + 1) << level]
        assert len(chunk) == 1 << level, f"node {node} is not complete"
        return complete_subtree_root(chunk)

    return read


def entries(n: int) -> list[bytes]:
    return [i.to_bytes(4, "big") for i in range(n)]


def test_reference_roots_and_proofs() -> None:
    read = reader(CT_LEAVES)
    for size, want in enumerate(CT_ROOTS, start=1):
        assert tree_root(size, read).hex() == want
        assert root_from_leaf_hashes([leaf_hash(e) for e in CT_LEAVES[:size]]).hex() == want
    assert tree_root(0, read) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert [p.hex() for p in inclusion_proof(0, 8, read)] == CT_PATH_0_8
    assert [p.hex() for p in consistency_proof(6, 8, read)] == CT_PROOF_6_8
    roots = [bytes.fromhex(r) for r in CT_ROOTS]
    verify_inclusion(leaf_hash(CT_LEAVES[0]), 0, 8, [bytes.fromhex(p) for p in CT_PATH_0_8], roots[7])
    verify_consistency(6, 8, [bytes.fromhex(p) for p in CT_PROOF_6_8], roots[5], roots[7])


def test_heads_equal_the_naive_definition_up_to_a_few_thousand() -> None:
    leaves = entries(3000)
    hashes = [leaf_hash(e) for e in leaves]
    read = reader(leaves)
    # Every size up to 300 against the naive recursion; larger sizes sampled (the naive one is O(n log n)).
    for size in [*range(301), 511, 512, 513, 1023, 1024, 1025, 2047, 2048, 2049, 2999, 3000]:
        want = naive_mth(leaves[:size])
        assert root_from_leaf_hashes(hashes[:size]) == want, size
        assert tree_root(size, read) == want, size


def test_every_proof_of_small_trees_verifies() -> None:
    leaves = entries(40)
    read = reader(leaves)
    roots = [tree_root(n, read) for n in range(41)]
    for size in range(1, 41):
        for index in range(size):
            proof = inclusion_proof(index, size, read)
            verify_inclusion(leaf_hash(leaves[index]), index, size, proof, roots[size])
        for size1 in range(1, size + 1):
            verify_consistency(size1, size, consistency_proof(size1, size, read), roots[size1], roots[size])


def test_proof_nodes_are_exactly_what_the_proofs_read() -> None:
    leaves = entries(300)
    read = reader(leaves)
    seen: set[Node] = set()

    def recording(node: Node) -> bytes:
        seen.add(node)
        return read(node)

    inclusion_proof(123, 300, recording)
    tree_root(300, recording)
    consistency_proof(77, 300, recording)
    tree_root(77, recording)
    assert proof_nodes(inclusion=[(123, 300)], consistency=[(77, 300)]) == seen


def flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


TREE = entries(70)
READ = reader(TREE)
ROOTS = [tree_root(n, READ) for n in range(71)]


def path_shape(m: int, n: int) -> list[str] | None:
    """The sides of PATH(m, D[n]) (RFC 9162 §2.1.3.1) from the leaf up: R when the sibling is on the right."""
    if not 0 <= m < n:
        return None
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    below = path_shape(m, k) if m < k else path_shape(m - k, n - k)
    assert below is not None
    return [*below, "R" if m < k else "L"]


def proof_shape(m: int, n: int) -> list[str] | None:
    """The kinds of PROOF(m, D[n]) (RFC 9162 §2.1.4.1): S the old subtree's own hash, R a node of the new tree
    only, L a node of both trees."""
    if not 0 < m <= n:
        return None

    def sub(m: int, n: int, complete: bool) -> list[str]:
        if m == n:
            return [] if complete else ["S"]
        k = 1
        while k * 2 < n:
            k *= 2
        return [*sub(m, k, complete), "R"] if m <= k else [*sub(m - k, n - k, False), "L"]

    return sub(m, n, True)


# A proof is a computation fixed by its shape: a claim changed into another with the same shape (the leaf 0 of
# trees of 5 and of 7 leaves both have the path R R R) is the same computation, and no verifier can tell them
# apart from the hashes; the signed checkpoint binds the size to the root. Every other change must be refused.


@settings(max_examples=examples(300), deadline=None)
@given(data=st.data())
def test_any_single_bit_flip_in_an_inclusion_proof_is_refused(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 70))
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(index, size, READ)
    leaf, root = leaf_hash(TREE[index]), ROOTS[size]
    verify_inclusion(leaf, index, size, proof, root)
    targets = ["root", "leaf", "index", "size"] + (["proof"] if proof else [])
    target = data.draw(st.sampled_from(targets))
    bit = data.draw(st.integers(0, 255))
    small = 1 << data.draw(st.integers(0, 7))
    if target in ("index", "size"):
        claim = (index ^ small, size) if target == "index" else (index, size ^ small)
        if path_shape(*claim) == path_shape(index, size):
            verify_inclusion(leaf, *claim, proof, root)
            return
        with pytest.raises(ProofError):
            verify_inclusion(leaf, *claim, proof, root)
        return
    with pytest.raises(ProofError):
        if target == "proof":
            i = data.draw(st.integers(0, len(proof) - 1))
            verify_inclusion(leaf, index, size, [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]], root)
        elif target == "root":
            verify_inclusion(leaf, index, size, proof, flip(root, bit))
        else:
            verify_inclusion(flip(leaf, bit), index, size, proof, root)


@settings(max_examples=examples(300), deadline=None)
@given(data=st.data())
def test_any_single_bit_flip_in_a_consistency_proof_is_refused(data: st.DataObject) -> None:
    size2 = data.draw(st.integers(1, 70))
    size1 = data.draw(st.integers(1, size2))
    proof = consistency_proof(size1, size2, READ)
    root1, root2 = ROOTS[size1], ROOTS[size2]
    verify_consistency(size1, size2, proof, root1, root2)
    targets = ["root1", "root2", "size1", "size2"] + (["proof"] if proof else [])
    target = data.draw(st.sampled_from(targets))
    bit = data.draw(st.integers(0, 255))
    small = 1 << data.draw(st.integers(0, 7))
    if target in ("size1", "size2"):
        claim = (size1 ^ small, size2) if target == "size1" else (size1, size2 ^ small)
        same = proof_shape(*claim) == proof_shape(size1, size2) and (claim[0] == claim[1]) == (size1 == size2)
        if same:
            verify_consistency(*claim, proof, root1, root2)
            return
        with pytest.raises(ProofError):
            verify_consistency(*claim, proof, root1, root2)
        return
    with pytest.raises(ProofError):
        if target == "proof":
            i = data.draw(st.integers(0, len(proof) - 1))
            verify_consistency(size1, size2, [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]], root1, root2)
        elif target == "root1":
            verify_consistency(size1, size2, proof, flip(root1, bit), root2)
        else:
            verify_consistency(size1, size2, proof, root1, flip(root2, bit))


def test_shapes_that_differ_are_refused_exhaustively() -> None:
    """Every claim (index, size) and (size1, size2) of trees up to 40 leaves, against every proof of another
    shape: refused."""
    for size in range(1, 41):
        for index in range(size):
            proof = inclusion_proof(index, size, READ)
            leaf = leaf_hash(TREE[index])
            for other_size in range(1, 41):
                if path_shape(index, other_size) not in (None, path_shape(index, size)):
                    with pytest.raises(ProofError):
                        verify_inclusion(leaf, index, other_size, proof, ROOTS[size])
        for size1 in range(1, size):
            proof = consistency_proof(size1, size, READ)
            for other in range(1, 41):
                if other != size and proof_shape(size1, other) not in (None, proof_shape(size1, size)):
                    with pytest.raises(ProofError):
                        verify_consistency(size1, other, proof, ROOTS[size1], ROOTS[size])


def test_malformed_inputs_are_refused_with_a_reason() -> None:
    read = READ
    proof = inclusion_proof(5, 8, read)
    leaf, root = leaf_hash(TREE[5]), ROOTS[8]
    cases = [
        ((leaf[:31], 5, 8, proof, root), "leaf hash is 31 bytes"),
        ((leaf, 5, 8, proof, root + b"\x00"), "root is 33 bytes"),
        ((leaf, 5, 8, [*proof[:-1], proof[-1][:16]], root), "proof element 2 is 16 bytes"),
        ((leaf, 8, 8, proof, root), "not below the tree size"),
        ((leaf, 5, 0, [], root), "not below the tree size"),
        ((leaf, -1, 8, proof, root), "non-negative"),
        ((leaf, 5, 8, [*proof, proof[0]], root), "has 4 hashes"),
        ((leaf, 5, 8, proof[:-1], root), "has 2 hashes"),
        ((leaf.hex(), 5, 8, proof, root), "must be bytes"),
    ]
    for args, reason in cases:
        with pytest.raises(ProofError, match=reason):
            verify_inclusion(*args)  # type: ignore[arg-type]
    c_proof = consistency_proof(3, 8, read)
    c_cases = [
        ((0, 8, [], EMPTY_ROOT, ROOTS[8]), "empty tree"),
        ((0, 8, c_proof, EMPTY_ROOT, ROOTS[8]), "empty tree"),
        ((8, 3, c_proof, ROOTS[8], ROOTS[3]), "above size2"),
        ((3, 8, [], ROOTS[3], ROOTS[8]), "has 0 hashes"),
        ((3, 8, [*c_proof, c_proof[0]], ROOTS[3], ROOTS[8]), "hashes"),
        ((3, 8, c_proof[:-1], ROOTS[3], ROOTS[8]), "hashes"),
        ((8, 8, [ROOTS[8]], ROOTS[8], ROOTS[8]), "equal sizes is empty"),
        ((8, 8, [], ROOTS[7], ROOTS[8]), "two different roots"),
        ((3, 8, c_proof, ROOTS[3][:20], ROOTS[8]), "root1 is 20 bytes"),
    ]
    for c_args, reason in c_cases:
        with pytest.raises(ProofError, match=reason):
            verify_consistency(*c_args)
    verify_consistency(8, 8, [], ROOTS[8], ROOTS[8])
    verify_consistency(8, 8, None, ROOTS[8], ROOTS[8])  # type: ignore[arg-type]
