"""Time-safe history features: what the agency knew about a party, pair or goods line before a declaration.

Two sources with two clocks:

- declarations: counts and recency of earlier declarations (dated strictly before the declaration's date);
- outcomes: inspection hit rates from outcomes *recorded* strictly before the declaration's date, smoothed
  towards the overall past hit rate (Bayesian average with ``PRIOR_STRENGTH`` pseudo-inspections).

Every value for a row comes from strictly earlier days, so a training row never sees its own label: the
encodings are out-of-fold by construction, and training and production compute them the same way. The work is
columnar: per-key daily tables with cumulative sums, then ``join_asof`` with exact matches excluded.

The same tables reduced to their last row per key form a :class:`HistorySnapshot`, which scores declarations
dated after all of its history with a few small joins (live scoring of one declaration in milliseconds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

# name -> key columns. Counts/recency are computed for every key; hit rates for those in HIT_RATE_KEYS.
ENTITY_KEYS: dict[str, tuple[str, ...]] = {
    "importer": ("importer_id",),
    "declarant": ("declarant_id",),
    "seller": ("seller_id",),
    "courier": ("courier_id",),
    "hs": ("hs_code",),
    "importer_hs": ("importer_id", "hs_code"),
    "importer_seller": ("importer_id", "seller_id"),
    "importer_route": ("importer_id", "origin_country", "departure_country"),
    "declarant_office": ("declarant_id", "office"),
    "declarant_importer": ("declarant_id", "importer_id"),
    "hs_origin": ("hs_code", "origin_country"),
}
HIT_RATE_KEYS: dict[str, tuple[str, ...]] = {
    **ENTITY_KEYS,
    "office": ("office",),
    "hs4": ("hs4",),
    "hs2": ("hs2",),
    "origin": ("origin_country",),
    "departure": ("departure_country",),
    "tax_type": ("tax_type",),
    "process": ("process_type", "import_type", "import_use", "payment_type"),
}
PRIOR_STRENGTH = 5.0
UNIT_VALUE_MIN_PEERS = 5
UNIT_VALUE_GROUPS: dict[str, tuple[str, ...]] = {"o": ("hs_code", "origin_country"), "h": ("hs_code",)}
UNIT_VALUE_FEATURES = ["unit_value_z", "unit_value_ratio", "unit_value_peers"]
UV_STATS = ("_med", "_iqr", "_peers")


def count_feature_names() -> list[str]:
    return [f"{name}_{kind}" for name in ENTITY_KEYS for kind in ("count", "days_since")]


def rate_feature_names() -> list[str]:
    return [f"{name}_{kind}" for name in HIT_RATE_KEYS for kind in ("hit_rate", "inspected")]


def _key_present(keys: Sequence[str]) -> pl.Expr:
    return pl.all_horizontal([pl.col(k).is_not_null() for k in keys])


def _relevant(frame: pl.DataFrame, targets: pl.DataFrame | None, keys: Sequence[str]) -> pl.DataFrame:
    """Rows of ``frame`` with a key; when ``targets`` are few, only keys occurring among them (scoring a few
    declarations against a long history then aggregates only what can matter: same result, less work)."""
    present = frame.filter(_key_present(keys))
    if targets is None or targets.height * 10 >= frame.height:
        return present
    return present.join(targets.select(keys).unique(), on=list(keys), how="semi")


def count_tables(pool: pl.DataFrame, targets: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """Per key: one row per (key, day) with ``_cum``, the declarations up to and including that day."""
    tables: dict[str, pl.DataFrame] = {}
    for name, keys in ENTITY_KEYS.items():
        tables[name] = (
            _relevant(pool, targets, keys)
            .group_by([*keys, "declared_on"])
            .agg(pl.len().alias("_n"))
            .sort("declared_on")
            .select(
                *keys, pl.col("declared_on").alias("_day"), pl.col("_n").cum_sum().over(keys).alias("_cum")
            )
        )
    return tables


def rate_tables(
    labelled: pl.DataFrame, targets: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """The overall and per-key cumulative inspections (``_cn``) and frauds (``_cf``) by recording day."""
    overall = (
        labelled.group_by("recorded_on")
        .agg(pl.len().alias("_n"), pl.col("fraud").sum().alias("_f"))
        .sort("recorded_on")
        .select(
            pl.col("recorded_on").alias("_day"),
            pl.col("_n").cum_sum().alias("_all_n"),
            pl.col("_f").cum_sum().alias("_all_f"),
        )
    )
    tables: dict[str, pl.DataFrame] = {}
    for name, keys in HIT_RATE_KEYS.items():
        tables[name] = (
            _relevant(labelled, targets, keys)
            .group_by([*keys, "recorded_on"])
            .agg(pl.len().alias("_n"), pl.col("fraud").sum().alias("_f"))
            .sort("recorded_on")
            .select(
                *keys,
                pl.col("recorded_on").alias("_day"),
                pl.col("_n").cum_sum().over(keys).alias("_cn"),
                pl.col("_f").cum_sum().over(keys).alias("_cf"),
            )
        )
    return overall, tables


def _before(
    frame: pl.DataFrame,
    table: pl.DataFrame,
    on: str,
    keys: Sequence[str] | None = None,
    *,
    latest: bool = False,
) -> pl.DataFrame:
    """``frame`` with the latest ``table`` row of the same key dated strictly before ``frame[on]``.

    ``latest``: ``table`` holds only the last row per key and every row of ``frame`` is dated after all of
    it (a snapshot), so a plain hash join finds the same row."""
    if latest:
        if not keys:
            return frame.join(table, how="cross")
        return frame.join(table, on=list(keys), how="left", maintain_order="left")
    return frame.join_asof(
        table,
        left_on=on,
        right_on="_day",
        by=list(keys) if keys else None,
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )


def history_counts(
    targets: pl.DataFrame, tables: dict[str, pl.DataFrame], *, latest: bool = False
) -> pl.DataFrame:
    """For each target: per key, the number of declarations dated strictly before it (``{name}_count``) and
    the days since the latest of them (``{name}_days_since``, null when none); null count for no key."""
    out = targets.select("row_id", "declared_on", *{k for keys in ENTITY_KEYS.values() for k in keys}).sort(
        "declared_on"
    )
    for name, keys in ENTITY_KEYS.items():
        out = (
            _before(out, tables[name], "declared_on", keys, latest=latest)
            .with_columns(
                pl.when(_key_present(keys))
                .then(pl.col("_cum").fill_null(0).cast(pl.Float64))
                .otherwise(None)
                .alias(f"{name}_count"),
                (pl.col("declared_on") - pl.col("_day"))
                .dt.total_days()
                .cast(pl.Float64)
                .alias(f"{name}_days_since"),
            )
            .drop("_day", "_cum")
        )
    return out.select("row_id", *count_feature_names())


def hit_rates(
    targets: pl.DataFrame,
    overall: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
    *,
    as_of: pl.Expr | None = None,
    latest: bool = False,
) -> pl.DataFrame:
    """For each target: per key, the smoothed fraud rate among outcomes recorded strictly before ``as_of``
    (default: the declaration date), the number of those inspections and of frauds found."""
    cutoff = as_of if as_of is not None else pl.col("declared_on")
    columns = {k for keys in HIT_RATE_KEYS.values() for k in keys}
    out = targets.select("row_id", *columns, cutoff.alias("_cutoff")).sort("_cutoff")
    out = (
        _before(out, overall, "_cutoff", latest=latest)
        .with_columns(
            ((pl.col("_all_f").fill_null(0) + 1) / (pl.col("_all_n").fill_null(0) + 2)).alias("_prior")
        )
        .drop("_day", "_all_n", "_all_f")
    )
    for name, keys in HIT_RATE_KEYS.items():
        out = (
            _before(out, tables[name], "_cutoff", keys, latest=latest)
            .with_columns(
                pl.col("_cn").fill_null(0).cast(pl.Float64).alias(f"{name}_inspected"),
                pl.col("_cf").fill_null(0).cast(pl.Float64).alias(f"{name}_frauds"),
                (
                    (pl.col("_cf").fill_null(0) + PRIOR_STRENGTH * pl.col("_prior"))
                    / (pl.col("_cn").fill_null(0) + PRIOR_STRENGTH)
                ).alias(f"{name}_hit_rate"),
            )
            .drop("_day", "_cn", "_cf")
        )
    return out.select("row_id", *rate_feature_names(), *[f"{name}_frauds" for name in HIT_RATE_KEYS])


def _unit_value_position(frame: pl.DataFrame) -> pl.DataFrame:
    """From per-group ``_med_*``, ``_iqr_*``, ``_peers_*`` columns to the unit-value features."""
    use_origin = pl.col("_peers_o").fill_null(0) >= UNIT_VALUE_MIN_PEERS
    median = pl.when(use_origin).then(pl.col("_med_o")).otherwise(pl.col("_med_h"))
    iqr = pl.when(use_origin).then(pl.col("_iqr_o")).otherwise(pl.col("_iqr_h"))
    peers = pl.when(use_origin).then(pl.col("_peers_o")).otherwise(pl.col("_peers_h")).fill_null(0)
    scale = (iqr / 1.349).clip(lower_bound=0.05)
    known = (peers > 0) & pl.col("log_unit_value").is_not_null()
    return frame.select(
        "row_id",
        pl.when(known).then(median).otherwise(None).alias("unit_value_median_log"),
        pl.when(known)
        .then((pl.col("log_unit_value") - median) / scale)
        .otherwise(None)
        .alias("unit_value_z"),
        pl.when(known)
        .then((pl.col("log_unit_value") - median).exp())
        .otherwise(None)
        .alias("unit_value_ratio"),
        peers.cast(pl.Float64).alias("unit_value_peers"),
        use_origin.alias("unit_value_by_origin"),
    )


def unit_value_reference(targets: pl.DataFrame, pool: pl.DataFrame) -> pl.DataFrame:
    """Robust position of each target's log unit value among earlier declarations (strictly earlier days) of
    the same HS6 × origin, or of the same HS6 when fewer than ``UNIT_VALUE_MIN_PEERS`` of those exist:
    z = (log uv − median) / (IQR / 1.349), a robust sigma like the scaled MAD that rolling windows support."""
    frame = _relevant(pool, targets, ["hs_code"]).filter(pl.col("log_unit_value").is_not_null())
    frame = frame.sort("declared_on")
    uv = pl.col("log_unit_value")
    window = {"by": "declared_on", "window_size": "36500d", "closed": "left"}
    columns: list[pl.Expr] = []
    for suffix, keys in UNIT_VALUE_GROUPS.items():
        q75 = uv.rolling_quantile_by(quantile=0.75, interpolation="linear", **window)  # type: ignore[arg-type]
        q25 = uv.rolling_quantile_by(quantile=0.25, interpolation="linear", **window)  # type: ignore[arg-type]
        columns += [
            uv.rolling_median_by(**window).over(keys).alias(f"_med_{suffix}"),  # type: ignore[arg-type]
            (q75.over(keys) - q25.over(keys)).alias(f"_iqr_{suffix}"),
            # peers strictly before: position within the key minus the rows of the same day before this one
            (pl.int_range(pl.len()).over(keys) - pl.int_range(pl.len()).over([*keys, "declared_on"])).alias(
                f"_peers_{suffix}"
            ),
        ]
    ref = frame.select("row_id", "log_unit_value", *columns)
    rows = targets.select("row_id", "log_unit_value").join(
        ref.drop("log_unit_value"), on="row_id", how="left", maintain_order="left"
    )
    return _unit_value_position(rows)


def unit_value_tables(pool: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Per unit-value group: median, IQR and count of all of ``pool`` (the snapshot's reference)."""
    frame = pool.filter(pl.col("log_unit_value").is_not_null())
    uv = pl.col("log_unit_value")
    return {
        suffix: frame.group_by(keys).agg(
            uv.median().alias(f"_med_{suffix}"),
            (uv.quantile(0.75, interpolation="linear") - uv.quantile(0.25, interpolation="linear")).alias(
                f"_iqr_{suffix}"
            ),
            pl.len().alias(f"_peers_{suffix}"),
        )
        for suffix, keys in UNIT_VALUE_GROUPS.items()
    }


SMALL_BATCH = 16

Key = tuple[object, ...]


@dataclass(frozen=True)
class HistorySnapshot:
    """Everything history features need, aggregated up to ``as_of`` (the latest day of its declarations and
    outcomes). Valid only for declarations dated after ``as_of``; exact for them. The ``*_index`` dicts hold
    the same rows keyed for direct look-up, which scores a handful of declarations without any join."""

    as_of: object
    counts: dict[str, pl.DataFrame]
    overall: pl.DataFrame
    rates: dict[str, pl.DataFrame]
    unit_values: dict[str, pl.DataFrame]
    counts_index: dict[str, dict[Key, tuple[int, dt.date]]]
    rates_index: dict[str, dict[Key, tuple[int, int]]]
    unit_values_index: dict[str, dict[Key, tuple[float, float, int]]]


def _index(table: pl.DataFrame, keys: Sequence[str], values: Sequence[str]) -> dict[Key, Any]:
    columns = [table[k].to_list() for k in keys]
    payload = [table[v].to_list() for v in values]
    return dict(zip(zip(*columns, strict=True), zip(*payload, strict=True), strict=True))


def history_counts_lookup(targets: pl.DataFrame, snap: HistorySnapshot) -> pl.DataFrame:
    """:func:`history_counts` for a few targets dated after ``snap.as_of``, by dict look-up."""
    rows = targets.select("row_id", "declared_on", *{k for ks in ENTITY_KEYS.values() for k in ks}).to_dicts()
    data: dict[str, list[Any]] = {"row_id": [r["row_id"] for r in rows]}
    for name, keys in ENTITY_KEYS.items():
        index = snap.counts_index[name]
        counts: list[float | None] = []
        since: list[float | None] = []
        for row in rows:
            key = tuple(row[k] for k in keys)
            found = index.get(key)
            counts.append(None if None in key else float(found[0]) if found else 0.0)
            since.append(float((row["declared_on"] - found[1]).days) if found else None)
        data[f"{name}_count"], data[f"{name}_days_since"] = counts, since
    schema = {"row_id": pl.UInt32, **dict.fromkeys(count_feature_names(), pl.Float64)}
    return pl.DataFrame(data, schema=schema)


def hit_rates_lookup(targets: pl.DataFrame, snap: HistorySnapshot) -> pl.DataFrame:
    """:func:`hit_rates` for a few targets dated after ``snap.as_of``, by dict look-up."""
    rows = targets.select("row_id", *{k for ks in HIT_RATE_KEYS.values() for k in ks}).to_dicts()
    total = snap.overall.row(0, named=True) if snap.overall.height else {"_all_n": 0, "_all_f": 0}
    prior = (total["_all_f"] + 1) / (total["_all_n"] + 2)
    data: dict[str, list[Any]] = {"row_id": [r["row_id"] for r in rows]}
    for name, keys in HIT_RATE_KEYS.items():
        index = snap.rates_index[name]
        found = [index.get(tuple(row[k] for k in keys), (0, 0)) for row in rows]
        data[f"{name}_inspected"] = [float(n) for n, _ in found]
        data[f"{name}_frauds"] = [float(f) for _, f in found]
        data[f"{name}_hit_rate"] = [(f + PRIOR_STRENGTH * prior) / (n + PRIOR_STRENGTH) for n, f in found]
    names = [*rate_feature_names(), *[f"{name}_frauds" for name in HIT_RATE_KEYS]]
    return pl.DataFrame(data, schema={"row_id": pl.UInt32, **dict.fromkeys(names, pl.Float64)}).select(
        "row_id", *names
    )


def _last_per_key(table: pl.DataFrame, keys: Sequence[str] | None) -> pl.DataFrame:
    if not keys:
        return table.tail(1)
    return table.group_by(list(keys)).agg(pl.all().sort_by("_day").last())


def snapshot(pool: pl.DataFrame, labelled: pl.DataFrame) -> HistorySnapshot:
    overall, rates = rate_tables(labelled)
    days = [pool["declared_on"].max(), labelled["recorded_on"].max()]
    known = [d for d in days if isinstance(d, dt.date)]
    counts = {n: _last_per_key(t, ENTITY_KEYS[n]) for n, t in count_tables(pool).items()}
    last_rates = {n: _last_per_key(t, HIT_RATE_KEYS[n]) for n, t in rates.items()}
    unit_values = unit_value_tables(pool)
    return HistorySnapshot(
        as_of=max(known) if known else None,
        counts=counts,
        overall=_last_per_key(overall, None),
        rates=last_rates,
        unit_values=unit_values,
        unit_values_index={
            suffix: _index(
                table, UNIT_VALUE_GROUPS[suffix], [f"_med_{suffix}", f"_iqr_{suffix}", f"_peers_{suffix}"]
            )
            for suffix, table in unit_values.items()
        },
        counts_index={n: _index(t, ENTITY_KEYS[n], ["_cum", "_day"]) for n, t in counts.items()},
        rates_index={n: _index(t, HIT_RATE_KEYS[n], ["_cn", "_cf"]) for n, t in last_rates.items()},
    )


def unit_value_from_snapshot(
    targets: pl.DataFrame, tables: dict[str, pl.DataFrame], index: dict[str, dict[Key, Any]] | None = None
) -> pl.DataFrame:
    """Unit-value features of targets dated after the snapshot: joins, or dict look-ups for a few rows."""
    columns = ["row_id", "log_unit_value", *{k for keys in UNIT_VALUE_GROUPS.values() for k in keys}]
    if index is not None and targets.height <= SMALL_BATCH:
        records = targets.select(columns).to_dicts()
        data: dict[str, list[Any]] = {n: [r[n] for r in records] for n in ("row_id", "log_unit_value")}
        for suffix, keys in UNIT_VALUE_GROUPS.items():
            found = [index[suffix].get(tuple(r[k] for k in keys), (None, None, None)) for r in records]
            for position, stat in enumerate(UV_STATS):
                data[f"{stat}_{suffix}"] = [f[position] for f in found]
        schema = {
            "row_id": pl.UInt32,
            "log_unit_value": pl.Float64,
            **{f"{stat}_{s}": pl.Float64 for s in UNIT_VALUE_GROUPS for stat in UV_STATS},
        }
        return _unit_value_position(pl.DataFrame(data, schema=schema))
    rows = targets.select(columns)
    for suffix, keys in UNIT_VALUE_GROUPS.items():
        rows = rows.join(tables[suffix], on=list(keys), how="left", maintain_order="left")
    return _unit_value_position(rows)


def lagged_cutoff(days: int, seed: int) -> pl.Expr:
    """A per-row outcome cutoff ``declared_on − U(0, days)``: lets training see outcome histories as stale as
    production's, where results arrive late."""
    lag = (pl.col("row_id").hash(seed) % (days + 1)).cast(pl.Int64)
    return pl.col("declared_on") - pl.duration(days=lag)
