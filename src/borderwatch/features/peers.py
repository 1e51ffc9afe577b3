"""Quantiles of log unit values among a declaration's earlier peers: a sorted reference plus newer values.

A history snapshot keeps, per peer group (HS6 × origin, HS6), the sorted log unit values of every declaration
it holds (a :class:`PeerReference`). A declaration dated after the snapshot compares with those values plus
the group's declarations dated after the snapshot and before it (a batch's earlier days, a few per group). Its
median and quartiles are order statistics of the union of two sorted sets, found without sorting the reference
again: each newer value's position in the union is (reference values not above it) + (newer values before it),
so the k-th value of the union is either the newer value at position k or the reference value at
k − (newer values before position k). Quantiles interpolate linearly between the order statistics at
⌊(n − 1)q⌋ and ⌈(n − 1)q⌉, as Polars' ``interpolation="linear"`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

Floats = np.ndarray[Any, np.dtype[np.float64]]
Ints = np.ndarray[Any, np.dtype[np.int64]]

QUARTILES = (0.25, 0.5, 0.75)
DAY_BITS = 24  # days of one batch fit (2**24 days: 45,000 years)


@dataclass(frozen=True)
class PeerReference:
    """The log unit values of one peer grouping, sorted within each group, groups stored one after another.

    ``groups``: the key columns, ``_group`` (0..G−1, the segment's number), ``_peers``, ``_med`` and ``_iqr``
    (the whole segment's count, median and interquartile range). Group ``g`` holds
    ``values[start[g]:start[g + 1]]``. ``ranked`` orders (group, value) pairs as integers: group × (number of
    distinct values + 1) + the value's rank among ``distinct``, so positions are found without float keys.
    ``frame`` keeps the rows (keys and value) it was built from, to build the next day's reference."""

    keys: tuple[str, ...]
    groups: pl.DataFrame
    start: Ints
    values: Floats
    distinct: Floats
    ranked: Ints
    frame: pl.DataFrame


def build_reference(frame: pl.DataFrame, keys: Sequence[str]) -> PeerReference:
    """The reference of ``frame``'s rows with a log unit value and an HS code (the rows the full computation
    compares with), grouped by ``keys`` (a null key is a group of its own, as in a Polars window)."""
    rows = frame.select(*keys, "log_unit_value").filter(
        pl.col("log_unit_value").is_not_null() & pl.col("hs_code").is_not_null()
    )
    uv = pl.col("log_unit_value")
    groups = (
        rows.group_by(list(keys))
        .agg(
            pl.len().alias("_peers"),
            uv.median().alias("_med"),
            (uv.quantile(0.75, interpolation="linear") - uv.quantile(0.25, interpolation="linear")).alias(
                "_iqr"
            ),
        )
        .sort(list(keys), nulls_last=True)
        .with_row_index("_group")
        .with_columns(pl.col("_group").cast(pl.Int64))
    )
    ordered = rows.join(groups.select(*keys, "_group"), on=list(keys), how="left", nulls_equal=True).sort(
        "_group", "log_unit_value"
    )
    values = ordered["log_unit_value"].to_numpy().astype(np.float64)
    codes = ordered["_group"].to_numpy().astype(np.int64)
    counts = groups["_peers"].to_numpy().astype(np.int64)
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    distinct = np.unique(values)
    ranked = codes * (distinct.size + 1) + np.searchsorted(distinct, values, side="left")
    return PeerReference(
        keys=tuple(keys),
        groups=groups,
        start=start,
        values=values,
        distinct=distinct,
        ranked=ranked.astype(np.int64),
        frame=rows,
    )


def _codes(reference: PeerReference, frame: pl.DataFrame, extra: pl.DataFrame) -> tuple[Ints, Ints]:
    """Group numbers of ``frame`` and ``extra`` rows (groups the reference lacks: numbered after its own)."""
    keys = list(reference.keys)
    known = reference.groups.select(*keys, "_group")
    unseen = (
        pl.concat([extra.select(keys), frame.select(keys)])
        .unique(maintain_order=True)
        .join(known, on=keys, how="anti", nulls_equal=True)
        .with_row_index("_group", offset=reference.groups.height)
        .with_columns(pl.col("_group").cast(pl.Int64))
    )
    table = pl.concat([known, unseen.select(*keys, "_group")])

    def code(rows: pl.DataFrame) -> Ints:
        found = rows.select(keys).join(table, on=keys, how="left", nulls_equal=True, maintain_order="left")
        return found["_group"].to_numpy().astype(np.int64)

    return code(frame), code(extra)


def _neighbours(
    reference: PeerReference,
    *,
    group: Ints,
    low: Ints,
    owner: Ints,
    union_position: Ints,
    newer_value: Floats,
) -> tuple[Floats, Floats]:
    """The values at ``low`` and ``low + 1`` (one position per combination of ``group`` and day) in the union
    of the group's reference values and its newer values (one entry per newer value: ``owner`` combination,
    position in the union, value)."""
    offset = union_position - low[owner]
    hits = offset == 0
    before = np.bincount(owner, weights=(offset < 0).astype(np.float64), minlength=low.size).astype(np.int64)
    start = reference.start[np.minimum(group, reference.groups.height)]
    known = group < reference.groups.height
    values: list[Floats] = []
    # the newer values before position low + 1: those before low, plus the one at low if any
    for position, newer_before, at in (
        (low, before, hits),
        (low + 1, before + np.bincount(owner[hits], minlength=low.size), offset == 1),
    ):
        index = start + position - newer_before
        result = np.full(low.size, np.nan)
        usable = known & (index >= 0) & (index < reference.values.size)
        result[usable] = reference.values[index[usable]]
        # the position holds a newer value: it replaces whatever the reference index pointed at
        result[owner[at]] = newer_value[at]
        values.append(result)
    return values[0], values[1]


def peer_quantiles(reference: PeerReference, targets: pl.DataFrame, newer: pl.DataFrame) -> pl.DataFrame:
    """Per target row (``row_id``, ``declared_on``, the key columns, ``log_unit_value``): ``_peers``, ``_med``
    and ``_iqr`` of the log unit values of its group among the reference and the ``newer`` rows dated strictly
    before it. Targets without a log unit value or an HS code get no peers (nulls), as in the full
    computation.
    """
    keys = list(reference.keys)
    newer = newer.select(*keys, "declared_on", "log_unit_value").filter(
        pl.col("log_unit_value").is_not_null() & pl.col("hs_code").is_not_null()
    )
    scored = targets.select("row_id", *keys, "declared_on", "log_unit_value").filter(
        pl.col("log_unit_value").is_not_null() & pl.col("hs_code").is_not_null()
    )
    if scored.height == 0:
        return targets.select("row_id").with_columns(
            pl.lit(None, dtype=pl.Int64).alias("_peers"),
            pl.lit(None, dtype=pl.Float64).alias("_med"),
            pl.lit(None, dtype=pl.Float64).alias("_iqr"),
        )
    target_group, newer_group = _codes(reference, scored, newer)
    target_day = scored["declared_on"].to_physical().to_numpy().astype(np.int64)
    # one computation per (group, day): the targets of a day in a group share their peers
    combo_key = (target_group << DAY_BITS) | (target_day - target_day.min())
    combos, combo_of_target = np.unique(combo_key, return_inverse=True)
    combo_group = combos >> DAY_BITS
    combo_day = (combos & ((1 << DAY_BITS) - 1)) + target_day.min()

    newer_value = newer["log_unit_value"].to_numpy().astype(np.float64)
    newer_day = newer["declared_on"].to_physical().to_numpy().astype(np.int64)
    order = np.lexsort((newer_value, newer_group))
    newer_group, newer_value, newer_day = newer_group[order], newer_value[order], newer_day[order]
    # reference values of the group not above each newer value (integer keys: exact, ties included)
    in_reference = newer_group < reference.groups.height
    key = newer_group * (reference.distinct.size + 1) + np.searchsorted(
        reference.distinct, newer_value, side="right"
    )
    not_above = (
        np.searchsorted(reference.ranked, key, side="left")
        - reference.start[np.minimum(newer_group, reference.groups.height)]
    )
    not_above = np.where(in_reference, not_above, 0)

    # every (combination, newer value of its group dated before its day), in value order within a combination
    first = np.searchsorted(newer_group, combo_group, side="left")
    length = np.searchsorted(newer_group, combo_group, side="right") - first
    owner = np.repeat(np.arange(combo_group.size), length)
    index = np.arange(owner.size) - np.repeat(np.cumsum(length) - length, length) + np.repeat(first, length)
    keep = newer_day[index] < combo_day[owner]
    owner, index = owner[keep], index[keep]
    newer_count = np.bincount(owner, minlength=combo_group.size)
    rank = np.arange(owner.size) - (np.cumsum(newer_count) - newer_count)[owner]
    union_position = not_above[index] + rank

    reference_count = np.append(np.diff(reference.start), 0)[np.minimum(combo_group, reference.groups.height)]
    total = reference_count + newer_count
    quantile: dict[float, Floats] = {}
    pairs = {"owner": owner, "union_position": union_position, "newer_value": newer_value[index]}
    for q in QUARTILES:
        exact = (np.maximum(total, 1) - 1) * q
        low = np.floor(exact).astype(np.int64)
        lower, upper = _neighbours(reference, group=combo_group, low=low, **pairs)
        # interpolate towards low + 1 only where the exact position lies past low (upper may not exist)
        fraction = exact - low
        upper = np.where(fraction > 0, upper, lower)
        quantile[q] = np.where(total > 0, lower + (upper - lower) * fraction, np.nan)
    per_target = pl.DataFrame(
        {
            "row_id": scored["row_id"],
            "_peers": total[combo_of_target],
            "_med": quantile[0.5][combo_of_target],
            "_iqr": (quantile[0.75] - quantile[0.25])[combo_of_target],
        },
        schema_overrides={"_peers": pl.Int64, "_med": pl.Float64, "_iqr": pl.Float64},
    ).with_columns(
        pl.when(pl.col("_peers") > 0).then(pl.col(name)).otherwise(None).fill_nan(None).alias(name)
        for name in ("_med", "_iqr")
    )
    return targets.select("row_id").join(per_target, on="row_id", how="left", maintain_order="left")
