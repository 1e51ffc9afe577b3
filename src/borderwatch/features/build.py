"""One entry point: declarations (+ earlier history and known outcomes) → the feature frame scoring uses."""

from __future__ import annotations

import datetime as dt

import polars as pl

from borderwatch.features.basic import BASIC_NUMERIC, add_basic
from borderwatch.features.history import (
    SMALL_BATCH,
    UNIT_VALUE_FEATURES,
    HistorySnapshot,
    count_feature_names,
    count_tables,
    history_counts,
    history_counts_lookup,
    hit_rates,
    hit_rates_lookup,
    lagged_cutoff,
    rate_feature_names,
    rate_tables,
    snapshot,
    unit_value_from_snapshot,
    unit_value_reference,
)
from borderwatch.ingest.frame import DECLARATION_SCHEMA, OUTCOME_SCHEMA, conform

FLAG_FEATURES = ["new_importer", "new_importer_hs", "new_importer_route", "new_declarant_importer"]


def numeric_feature_names() -> list[str]:
    return [
        *BASIC_NUMERIC,
        *count_feature_names(),
        *rate_feature_names(),
        *UNIT_VALUE_FEATURES,
        *FLAG_FEATURES,
    ]


def latest_outcomes(outcomes: pl.DataFrame) -> pl.DataFrame:
    """One outcome per declaration: the first one recorded (later corrections are rare and dated later)."""
    return (
        conform(outcomes, OUTCOME_SCHEMA)
        .filter(pl.col("fraud").is_not_null() & pl.col("recorded_on").is_not_null())
        .sort("recorded_on", maintain_order=True)
        .unique("lrn", keep="first", maintain_order=True)
    )


def _pool(history: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    pool = pl.concat([conform(history, DECLARATION_SCHEMA), targets], how="vertical")
    # The scored version of a declaration wins over an older copy in history.
    pool = pool.unique(["lrn", "item_no"], keep="last", maintain_order=True)
    return add_basic(pool).with_row_index("row_id")


def _labelled(pool: pl.DataFrame, outcomes: pl.DataFrame) -> pl.DataFrame:
    return pool.join(latest_outcomes(outcomes).select("lrn", "recorded_on", "fraud"), on="lrn", how="inner")


def prepare_snapshot(*, history: pl.DataFrame, outcomes: pl.DataFrame) -> HistorySnapshot:
    """Aggregates ``history`` and ``outcomes`` once, to score many later declarations fast (see
    :func:`build_features`'s ``snapshot``)."""
    pool = _pool(history, conform(history.head(0), DECLARATION_SCHEMA))
    return snapshot(pool, _labelled(pool, outcomes))


def _finish(targets: pl.DataFrame, *parts: pl.DataFrame) -> pl.DataFrame:
    out = targets
    for part in parts:
        out = out.join(part, on="row_id", how="left", maintain_order="left")
    return (
        out.with_columns(
            (pl.col("importer_count") == 0).cast(pl.Int8).alias("new_importer"),
            (pl.col("importer_hs_count") == 0).cast(pl.Int8).alias("new_importer_hs"),
            (pl.col("importer_route_count") == 0).cast(pl.Int8).alias("new_importer_route"),
            (pl.col("declarant_importer_count") == 0).cast(pl.Int8).alias("new_declarant_importer"),
        )
        .sort("_order")
        .drop("_order")
    )


def build_features(
    *,
    declarations: pl.DataFrame,
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    outcome_lag_days: int = 0,
    seed: int = 0,
    snapshot: HistorySnapshot | None = None,
) -> pl.DataFrame:
    """The feature frame for ``declarations`` (same rows, same order), with the declaration columns.

    ``history`` holds earlier declarations (it may include the scored ones); ``outcomes`` the inspection
    results known now. Each value for a row uses only declarations dated strictly before it and outcomes
    recorded strictly before it (or before a random lag of up to ``outcome_lag_days`` days earlier, which
    training can use to mimic late results). With a ``snapshot`` (from :func:`prepare_snapshot`) and every
    declaration dated after ``snapshot.as_of``, the history is read from the snapshot instead (same values).
    """
    targets = conform(declarations, DECLARATION_SCHEMA)
    order = targets.select("lrn", "item_no").with_row_index("_order")
    first_day = targets["declared_on"].min()
    if (
        snapshot is not None
        and isinstance(first_day, dt.date)
        and isinstance(snapshot.as_of, dt.date)
        and first_day > snapshot.as_of
    ):
        rows = order.join(
            add_basic(targets.unique(["lrn", "item_no"], keep="last", maintain_order=True)).with_row_index(
                "row_id"
            ),
            on=["lrn", "item_no"],
            how="left",
            maintain_order="left",
        )
        small = rows.height <= SMALL_BATCH
        return _finish(
            rows,
            history_counts_lookup(rows, snapshot)
            if small
            else history_counts(rows, snapshot.counts, latest=True),
            hit_rates_lookup(rows, snapshot)
            if small
            else hit_rates(rows, snapshot.overall, snapshot.rates, latest=True),
            unit_value_from_snapshot(rows, snapshot.unit_values, snapshot.unit_values_index),
        )
    pool = _pool(history, targets)
    rows = order.join(pool, on=["lrn", "item_no"], how="left", maintain_order="left")
    labelled = _labelled(pool, outcomes)
    overall, rates = rate_tables(labelled, rows)
    as_of = lagged_cutoff(outcome_lag_days, seed) if outcome_lag_days > 0 else None
    return _finish(
        rows,
        history_counts(rows, count_tables(pool, rows)),
        hit_rates(rows, overall, rates, as_of=as_of),
        unit_value_reference(rows, pool),
    )
