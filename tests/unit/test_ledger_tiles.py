"""C2SP tlog-tiles: paths, bundles, tiles grown batch by batch equal to tiles built at once, nodes from tiles
equal to the RFC tree, and truncated tiles or bundles refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borderwatch.ledger.merkle import ProofError, leaf_hash, root_from_leaf_hashes, tree_root
from borderwatch.ledger.tiles import (
    decode_bundle,
    edge_tiles,
    encode_bundle,
    encode_index,
    extend,
    node_from_tile,
    node_tile,
    parse_tile_path,
    tile_path,
)
from tests.hypothesis_profiles import examples

HASHES = [leaf_hash(i.to_bytes(4, "big")) for i in range(70_000)]


def test_paths_as_the_specification_writes_them() -> None:
    assert encode_index(1234067) == "x001/x234/067"
    assert tile_path(0, 1234067, 256) == "tile/0/x001/x234/067"
    assert tile_path(1, 5, 10) == "tile/1/005.p/10"
    assert tile_path("entries", 0, 3) == "tile/entries/000.p/3"
    assert parse_tile_path("0/x001/x234/067") == (0, 1234067, 256)
    assert parse_tile_path("entries/005.p/10") == (None, 5, 10)
    for bad in ("0/1", "0/001.p/0", "0/001.p/256", "0/001.p/010", "0/x000/001", "01/001", "0/001/", "x/001"):
        with pytest.raises(ValueError):
            parse_tile_path(bad)


@settings(max_examples=examples(40), deadline=None)
@given(batches=st.lists(st.integers(1, 700), min_size=1, max_size=8))
def test_tiles_grown_in_batches_equal_tiles_built_at_once(batches: list[int]) -> None:
    store: dict[tuple[int, int], bytes] = {}
    size = 0
    for n in batches:
        edges = {key: store[key] for key in edge_tiles(size) if key in store}
        store.update(extend(size, HASHES[size : size + n], edges))
        size += n
    assert store == extend(0, HASHES[:size], {})
    read = lambda node: node_from_tile(node, store[node_tile(node)[0]])  # noqa: E731
    assert tree_root(size, read) == root_from_leaf_hashes(HASHES[:size])


def test_a_tree_of_70000_leaves_from_its_tiles() -> None:
    tiles = extend(0, HASHES, {})
    assert len(tiles[(2, 0)]) == 32  # one complete subtree of 65,536 leaves at level 16
    read = lambda node: node_from_tile(node, tiles[node_tile(node)[0]])  # noqa: E731
    assert tree_root(70_000, read) == root_from_leaf_hashes(HASHES)


def test_truncated_tiles_and_bundles_are_refused() -> None:
    tiles = extend(0, HASHES[:300], {})
    with pytest.raises(ProofError, match="holds 10 hashes, needs 16"):
        node_from_tile((4, 0), tiles[(0, 0)][: 10 * 32])
    bundle = encode_bundle([b"first entry", b"second"])
    assert decode_bundle(bundle) == [b"first entry", b"second"]
    for cut in (1, 3, len(bundle) - 1):
        with pytest.raises(ValueError, match="truncated entry bundle"):
            decode_bundle(bundle[:cut])
