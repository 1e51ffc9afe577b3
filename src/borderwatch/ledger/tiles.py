"""C2SP tlog-tiles: the tree stored as tiles of 256 hashes, paths, and the growth of tiles by appended leaves.

Tile ``(L, N)`` holds the hashes of the complete subtrees of tree level ``8L`` numbered ``256N`` to
``256N + width - 1``. A tile only grows: its first hashes never change, so a narrower (older) tile is a prefix
of the stored one. Every node of the tree is one tile's hashes folded: node ``(8L + r, i)`` is the root of the
``2**r`` hashes of tile ``(L, (i << r) >> 8)`` from offset ``(i << r) & 255``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from borderwatch.ledger.merkle import (
    HASH_SIZE,
    NODE_PREFIX,
    Node,
    ProofError,
    complete_subtree_root,
)

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT

TileKey = tuple[int, int]
"""(tile level, tile index)"""


def node_tile(node: Node) -> tuple[TileKey, int, int]:
    """The tile holding ``node``'s hashes, the offset of its first hash there, and how many it spans."""
    level, index = node
    tile_level, r = divmod(level, TILE_HEIGHT)
    first = index << r
    return (tile_level, first >> TILE_HEIGHT), first & (TILE_WIDTH - 1), 1 << r


def tile_levels(hashes: bytes) -> tuple[tuple[bytes, ...], ...]:
    """Every complete subtree of a tile: ``levels[r][j]`` is the root of its hashes ``j * 2**r`` to
    ``(j + 1) * 2**r - 1`` (255 hashes for a full tile, computed once for all the nodes a proof reads)."""
    level = tuple(hashes[i : i + HASH_SIZE] for i in range(0, len(hashes), HASH_SIZE))
    levels = [level]
    sha256, prefix = hashlib.sha256, NODE_PREFIX  # node_hash inlined: half the cost of a proof's hashing
    while len(level) > 1:
        level = tuple(sha256(prefix + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2))
        levels.append(level)
    return tuple(levels)


@lru_cache(maxsize=512)
def _cached_tile_levels(hashes: bytes) -> tuple[tuple[bytes, ...], ...]:
    # Keyed by the tile's hashes themselves, so always right: the upper tiles and the partial tiles of the
    # right edge, which every proof of a large log reads, are folded once (512 tiles, 16 MB at most).
    return tile_levels(hashes)


def levels_of(key: TileKey, hashes: bytes) -> tuple[tuple[bytes, ...], ...]:
    if key[0] > 0 or len(hashes) < TILE_WIDTH * HASH_SIZE:
        return _cached_tile_levels(hashes)
    return tile_levels(hashes)  # a full leaf tile: one of many, rarely read twice


def node_from_levels(node: Node, levels: tuple[tuple[bytes, ...], ...]) -> bytes:
    """``node``'s hash from the levels of its tile; :class:`ProofError` if the tile is too short."""
    _, offset, span = node_tile(node)
    r = span.bit_length() - 1
    if r >= len(levels) or (offset >> r) >= len(levels[r]):
        raise ProofError(f"tile for node {node} holds {len(levels[0])} hashes, needs {offset + span}")
    return levels[r][offset >> r]


def node_from_tile(node: Node, hashes: bytes) -> bytes:
    """``node``'s hash from the stored hashes of its tile; :class:`ProofError` if the tile is too short."""
    return node_from_levels(node, tile_levels(hashes))


def tile_width(tile_level: int, tile_index: int, size: int) -> int:
    """How many hashes tile ``(tile_level, tile_index)`` holds in the tree of ``size`` leaves (0 if none)."""
    count = size >> (TILE_HEIGHT * tile_level)
    return max(0, min(TILE_WIDTH, count - tile_index * TILE_WIDTH))


def edge_tiles(size: int) -> list[TileKey]:
    """The partial tiles of the tree of ``size`` leaves: the ones an append extends."""
    keys: list[TileKey] = []
    level = 0
    while True:
        count = size >> (TILE_HEIGHT * level)
        if count == 0:
            return keys
        if count % TILE_WIDTH:
            keys.append((level, count >> TILE_HEIGHT))
        level += 1


def extend(size: int, leaf_hashes: Sequence[bytes], edges: Mapping[TileKey, bytes]) -> dict[TileKey, bytes]:
    """The tiles changed by appending ``leaf_hashes`` to the tree of ``size`` leaves, given its partial tiles
    (``edges``, as from :func:`edge_tiles`): each changed tile's whole new content."""
    changed: dict[TileKey, bytes] = {}
    level, start = 0, size
    new = list(leaf_hashes)
    while new:
        end = start + len(new)
        first_tile = start >> TILE_HEIGHT
        for tile in range(first_tile, ((end - 1) >> TILE_HEIGHT) + 1):
            lo = max(start, tile * TILE_WIDTH)
            hi = min(end, (tile + 1) * TILE_WIDTH)
            prefix = b""
            if tile == first_tile and start % TILE_WIDTH:
                prefix = edges.get((level, tile), b"")
                if len(prefix) != (start % TILE_WIDTH) * HASH_SIZE:
                    raise ValueError(f"edge tile {(level, tile)} is missing or has the wrong width")
            changed[(level, tile)] = prefix + b"".join(new[lo - start : hi - start])
        completed = range(start >> TILE_HEIGHT, end >> TILE_HEIGHT)
        new = [_tile_root(changed[(level, tile)]) for tile in completed]
        level, start = level + 1, start >> TILE_HEIGHT
    return changed


def _tile_root(hashes: bytes) -> bytes:
    return complete_subtree_root([hashes[i : i + HASH_SIZE] for i in range(0, len(hashes), HASH_SIZE)])


# --- paths of C2SP tlog-tiles -------------------------------------------------------------------------------

_PATH = re.compile(r"(?:(entries)|(\d+))/((?:x\d{3}/)*\d{3})(?:\.p/(\d+))?")


def encode_index(index: int) -> str:
    """A tile index as path elements of three digits, all but the last prefixed by ``x``."""
    digits = f"{index:d}"
    digits = digits.zfill((len(digits) + 2) // 3 * 3)
    parts = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*(f"x{p}" for p in parts[:-1]), parts[-1]])


def tile_path(tile_level: int | str, index: int, width: int = TILE_WIDTH) -> str:
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{tile_level}/{encode_index(index)}{suffix}"


def parse_tile_path(path: str) -> tuple[int | None, int, int]:
    """``(tile level or None for entries, index, width)`` of a path below ``tile/``; ValueError if not one."""
    match = _PATH.fullmatch(path)
    if not match:
        raise ValueError(f"{path!r} is not a tile path")
    entries, level_text, index_text, width_text = match.groups()
    parts = index_text.split("/")
    index = int("".join(p.removeprefix("x") for p in parts))
    if encode_index(index) != index_text:
        raise ValueError(f"{path!r} is not the canonical path of tile {index}")
    width = TILE_WIDTH if width_text is None else int(width_text)
    if not 1 <= width <= TILE_WIDTH or (
        width_text is not None and (width == TILE_WIDTH or width_text[0] == "0")
    ):
        raise ValueError(f"{path!r}: a partial tile's width is 1 to 255")
    level = None if entries else int(level_text)
    if level is not None and (level > 63 or level_text != str(level)):
        raise ValueError(f"{path!r}: bad tile level")
    return level, index, width


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian 16-bit length then its bytes."""
    return b"".join(len(e).to_bytes(2, "big") + e for e in entries)


def decode_bundle(data: bytes) -> list[bytes]:
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise ValueError("truncated entry bundle: a length prefix is cut")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if pos + 2 + length > len(data):
            raise ValueError(f"truncated entry bundle: entry {len(out)} is cut")
        out.append(data[pos + 2 : pos + 2 + length])
        pos += 2 + length
    return out
