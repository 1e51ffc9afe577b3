"""RFC 9162 Merkle tree hashing, inclusion and consistency proofs (pure computation, no I/O).

The tree is the one of RFC 9162 §2.1.1: SHA-256, leaves hashed as ``SHA-256(0x00 || entry)``, interior nodes
as ``SHA-256(0x01 || left || right)``, a tree of ``n`` leaves split at the largest power of two below ``n``.

Proofs are generated from a *node reader*: a function returning the hashes of complete, aligned subtrees
(``(level, index)``: the subtree of leaves ``[index * 2**level, (index + 1) * 2**level)``), which is what a
stored log (tiles) holds. :func:`proof_nodes` lists the nodes a proof needs, so a store can fetch them in one
read, before :func:`inclusion_proof` / :func:`consistency_proof` assemble the proof.

Verification (:func:`verify_inclusion`, :func:`verify_consistency`) follows RFC 9162 §2.1.3.2 and §2.1.4.2
step by step, after checking every input's type and length, so that a wrong input is named in the error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from borderwatch.core.errors import BorderwatchError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int]
"""A complete subtree: (level, index), covering leaves [index << level, (index + 1) << level)."""
NodeReader = Callable[[Node], bytes]


class ProofError(BorderwatchError):
    """A proof that does not hold, or inputs that cannot form a proof (wrong sizes, wrong hash lengths)."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH of the leaves whose hashes are given (RFC 9162 §2.1.1), bottom-up: O(n) hashes, O(log n) memory."""
    if not hashes:
        return EMPTY_ROOT
    # A stack of (level, hash) of complete subtrees, merged as in a binary counter; then folded right to left.
    stack: list[tuple[int, bytes]] = []
    for value in hashes:
        level, current = 0, value
        while stack and stack[-1][0] == level:
            current = node_hash(stack.pop()[1], current)
            level += 1
        stack.append((level, current))
    root = stack.pop()[1]
    while stack:
        root = node_hash(stack.pop()[1], root)
    return root


def complete_subtree_root(hashes: Sequence[bytes]) -> bytes:
    """The root of a complete subtree (a power-of-two number of hashes), level by level."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def subtree_hash(lo: int, hi: int, read: NodeReader) -> bytes:
    """MTH(D[lo:hi]) for a range of the RFC's recursion: ``lo`` aligned to a power of two >= ``hi - lo``.

    A complete range is one stored node; an incomplete one (the right edge of a tree) is split as the RFC
    splits it, into at most log2(n) stored nodes."""
    n = hi - lo
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return read((level, lo >> level))
    k = _split(n)
    return node_hash(subtree_hash(lo, lo + k, read), subtree_hash(lo + k, hi, read))


def tree_root(size: int, read: NodeReader) -> bytes:
    return EMPTY_ROOT if size == 0 else subtree_hash(0, size, read)


def _path(m: int, lo: int, hi: int, read: NodeReader, out: list[bytes]) -> None:
    # RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]), appending the proof from the leaf upwards.
    n = hi - lo
    if n == 1:
        return
    k = _split(n)
    if m < k:
        _path(m, lo, lo + k, read, out)
        out.append(subtree_hash(lo + k, hi, read))
    else:
        _path(m - k, lo + k, hi, read, out)
        out.append(subtree_hash(lo, lo + k, read))


def _subproof(m: int, lo: int, hi: int, *, complete: bool, read: NodeReader, out: list[bytes]) -> None:
    # RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], b).
    n = hi - lo
    if m == n:
        if not complete:
            out.append(subtree_hash(lo, hi, read))
        return
    k = _split(n)
    if m <= k:
        _subproof(m, lo, lo + k, complete=complete, read=read, out=out)
        out.append(subtree_hash(lo + k, hi, read))
    else:
        _subproof(m - k, lo + k, hi, complete=False, read=read, out=out)
        out.append(subtree_hash(lo, lo + k, read))


def _check_size(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofError(f"{name} must be a non-negative integer, not {value!r}")


def _check_inclusion(index: int, size: int) -> None:
    _check_size("index", index)
    _check_size("size", size)
    if index >= size:
        raise ProofError(f"index {index} is not below the tree size {size}")


def _check_consistency(size1: int, size2: int) -> None:
    _check_size("size1", size1)
    _check_size("size2", size2)
    if size1 == 0:
        raise ProofError("no consistency proof from an empty tree")
    if size1 > size2:
        raise ProofError(f"size1 {size1} is above size2 {size2}")


def inclusion_proof(index: int, size: int, read: NodeReader) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of the first ``size`` leaves."""
    _check_inclusion(index, size)
    out: list[bytes] = []
    _path(index, 0, size, read, out)
    return out


def consistency_proof(size1: int, size2: int, read: NodeReader) -> list[bytes]:
    """The proof that the tree of ``size1`` leaves is a prefix of the tree of ``size2`` leaves."""
    _check_consistency(size1, size2)
    out: list[bytes] = []
    _subproof(size1, 0, size2, complete=True, read=read, out=out)
    return out


def proof_nodes(
    *,
    inclusion: Iterable[tuple[int, int]] = (),
    consistency: Iterable[tuple[int, int]] = (),
    heads: Iterable[int] = (),
) -> set[Node]:
    """The stored nodes that the given inclusion proofs ``(index, size)``, consistency proofs
    ``(size1, size2)``, their tree heads and the heads of trees of ``heads`` leaves need (the recursion does
    not depend on hash values)."""
    needed: set[Node] = set()

    def record(node: Node) -> bytes:
        needed.add(node)
        return EMPTY_ROOT

    for index, size in inclusion:
        inclusion_proof(index, size, record)
        tree_root(size, record)
    for size1, size2 in consistency:
        consistency_proof(size1, size2, record)
        tree_root(size1, record)
        tree_root(size2, record)
    for size in heads:
        tree_root(size, record)
    return needed


def _check_hash(name: str, value: object) -> bytes:
    if not isinstance(value, bytes):
        raise ProofError(f"{name} must be bytes, not {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is {len(value)} bytes, a SHA-256 hash is {HASH_SIZE}")
    return value


def _check_proof(proof: object) -> list[bytes]:
    if proof is None:  # JSON test vectors write an empty proof as null
        return []
    if not isinstance(proof, list | tuple):
        raise ProofError(f"the proof must be a list of hashes, not {type(proof).__name__}")
    return [_check_hash(f"proof element {i}", p) for i, p in enumerate(proof)]


def inclusion_proof_length(index: int, size: int) -> int:
    inner = (index ^ (size - 1)).bit_length()
    return inner + bin(index >> inner).count("1")


def consistency_proof_length(size1: int, size2: int) -> int:
    """Length of a consistency proof for 0 < size1 < size2."""
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length()
    border = bin((size1 - 1) >> inner).count("1")
    shift = (size1 & -size1).bit_length() - 1
    seeded = 0 if size1 == 1 << shift else 1
    return seeded + inner - shift + border


def _walk(
    fn: int, sn: int, seed: bytes, path: Sequence[bytes], *, what: str, left: bool
) -> tuple[bytes, bytes]:
    """The verification walk of RFC 9162 §2.1.3.2 and §2.1.4.2 from ``seed``: the root of the left part
    (when ``left``, the older tree of a consistency proof) and the root of the whole tree."""
    fr = sr = seed
    for c in path:
        if sn == 0:
            raise ProofError(f"{what} proof is too long")
        if fn & 1 or fn == sn:
            if left:
                fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"{what} proof is too short")
    return fr, sr


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    """Return when ``proof`` shows the leaf ``leaf_hash`` at ``index`` in the tree of ``size`` leaves with
    head ``root`` (RFC 9162 §2.1.3.2); raise :class:`ProofError` otherwise."""
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    path = _check_proof(proof)
    _check_inclusion(index, size)
    expected = inclusion_proof_length(index, size)
    if len(path) != expected:
        raise ProofError(
            f"inclusion proof has {len(path)} hashes, leaf {index} of a tree of {size} needs {expected}"
        )
    _, r = _walk(index, size - 1, leaf_hash, path, what="inclusion", left=False)
    if r != root:
        raise ProofError(f"inclusion proof of leaf {index} does not lead to the root of the tree of {size}")


def verify_consistency(size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes) -> None:
    """Return when ``proof`` shows the tree of ``size1`` leaves (head ``root1``) to be a prefix of the tree of
    ``size2`` leaves (head ``root2``) (RFC 9162 §2.1.4.2); raise :class:`ProofError` otherwise.

    Equal sizes need an empty proof and equal roots; a proof from an empty tree is refused."""
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    path = _check_proof(proof)
    _check_consistency(size1, size2)
    if size1 == size2:
        if path:
            raise ProofError(f"a consistency proof between equal sizes is empty, not {len(path)} hashes")
        if root1 != root2:
            raise ProofError(f"two different roots for the same size {size1}")
        return
    expected = consistency_proof_length(size1, size2)
    if len(path) != expected:
        raise ProofError(f"consistency proof has {len(path)} hashes, {size1} to {size2} needs {expected}")
    if size1 & (size1 - 1) == 0:
        path = [root1, *path]
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr, sr = _walk(fn, sn, path[0], path[1:], what="consistency", left=True)
    if fr != root1:
        raise ProofError(f"consistency proof does not lead to the root of the tree of {size1}")
    if sr != root2:
        raise ProofError(f"consistency proof does not lead to the root of the tree of {size2}")
