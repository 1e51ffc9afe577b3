"""One entry point: declarations (+ earlier history and known outcomes) → the feature frame scoring uses."""

from __future__ import annotations

import datetime as dt
from functools import cache

import polars as pl

from borderwatch.features.basic import BASIC_NUMERIC, add_basic
from borderwatch.features.history import (
    SMALL_BATCH,
    UNIT_VALUE_FEATURES,
    HistorySnapshot,
    advance,
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


def _latest_day(*columns: pl.Series) -> dt.date | None:
    days = [column.max() for column in columns]
    known = [day for day in days if isinstance(day, dt.date)]
    return max(known) if known else None


def prepare_snapshot(
    *, history: pl.DataFrame, outcomes: pl.DataFrame, as_of: dt.date | None = None
) -> HistorySnapshot:
    """Aggregates the declarations of ``history`` dated on or before ``as_of`` and the ``outcomes`` recorded
    on or before it (default: the latest day of either), to score later declarations fast (see
    :func:`build_features`'s ``snapshot``) and to be moved forward by :func:`advance_snapshot`."""
    if as_of is not None:
        history = history.filter(pl.col("declared_on") <= as_of)
        outcomes = outcomes.filter(pl.col("recorded_on") <= as_of)
    pool = _pool(history, conform(history.head(0), DECLARATION_SCHEMA))
    labelled = _labelled(pool, outcomes)
    day = as_of if as_of is not None else _latest_day(pool["declared_on"], labelled["recorded_on"])
    resulted = (
        outcomes.filter(pl.col("recorded_on") <= day)["lrn"]
        if day is not None
        else pl.Series([], dtype=pl.String)
    )
    return snapshot(pool, labelled, as_of=day, resulted=frozenset(resulted.to_list()))


def _after_snapshot(
    snap: HistorySnapshot,
    *,
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    targets: pl.DataFrame,
    until: dt.date | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """What the full computation adds to ``snap``: the declarations dated after ``snap.as_of`` (up to
    ``until``) from ``history`` and ``targets`` (targets winning, as in the full pool), and the goods items
    whose first outcome ``snap`` lacks (recorded after ``snap.as_of``, or of one of those declarations).

    None when one of those declarations re-declares one ``snap`` holds (an amendment): the full computation
    then drops the old copy from everything, which a snapshot cannot undo."""
    as_of = snap.as_of
    if as_of is None:
        raise ValueError("an empty snapshot has no day to continue from")
    pool = targets
    newest = _latest_day(history["declared_on"])
    if newest is not None and newest > as_of:  # not in live scoring, where history ends at as_of
        dated = pl.col("declared_on") > as_of
        if until is not None:
            dated &= pl.col("declared_on") <= until
        pool = pl.concat([conform(history.filter(dated), DECLARATION_SCHEMA), targets], how="vertical")
    if pool.height > 1:  # one row (live scoring) is unique already
        pool = pool.unique(["lrn", "item_no"], keep="last", maintain_order=True)
    lrns = pool["lrn"].unique()
    if not snap.lrns.isdisjoint(lrns.to_list()):
        return None
    pool = add_basic(pool).with_row_index("row_id")
    new = set(lrns.to_list())
    # outcomes the snapshot lacks: recorded after it, or recorded by then for a declaration it did not hold
    unmatched = list(new & snap.unmatched_lrns)
    newest = _latest_day(outcomes["recorded_on"])
    first = conform(outcomes.head(0), OUTCOME_SCHEMA)
    if unmatched or (newest is not None and newest > as_of):
        late_result = pl.col("recorded_on") > as_of
        own_result = pl.col("lrn").is_in(unmatched)
        if until is not None:
            late_result &= pl.col("recorded_on") <= until
            own_result &= pl.col("recorded_on") <= until
        first = latest_outcomes(outcomes.filter(late_result | own_result))
    first = first.select("lrn", "recorded_on", "fraud")
    if first.height:
        own = pool.join(first, on="lrn", how="inner")
    else:  # live scoring: no outcome after the snapshot, and the empty join costs as much as a full one
        own = pl.DataFrame(schema={**pool.schema, **first.drop("lrn").schema})
    late = [lrn for lrn in first["lrn"].to_list() if lrn not in new and lrn not in snap.labelled_lrns]
    if not late:
        return pool, own
    earlier = conform(
        history.filter((pl.col("declared_on") <= as_of) & pl.col("lrn").is_in(late)), DECLARATION_SCHEMA
    ).unique(["lrn", "item_no"], keep="last", maintain_order=True)
    old = add_basic(earlier).with_row_index("row_id").join(first, on="lrn", how="inner")
    return pool, pl.concat([own, old.select(own.columns)], how="vertical")


def advance_snapshot(
    snap: HistorySnapshot, *, history: pl.DataFrame, outcomes: pl.DataFrame, until: dt.date
) -> HistorySnapshot:
    """``snap`` moved forward to ``until``: the same as :func:`prepare_snapshot` of the whole history and
    outcomes up to ``until``, at the cost of the days added. ``history`` needs the declarations dated after
    ``snap.as_of`` (and those with an outcome recorded after it); earlier ones are read from ``snap``.
    Re-declared declarations (amendments) need a new :func:`prepare_snapshot`: a ``ValueError`` says so."""
    if snap.as_of is None or until <= snap.as_of:
        raise ValueError(f"a snapshot as of {snap.as_of} cannot be advanced to {until}")
    later = _after_snapshot(
        snap,
        history=history,
        outcomes=outcomes,
        targets=conform(history.head(0), DECLARATION_SCHEMA),
        until=until,
    )
    if later is None:
        raise ValueError("the history re-declares declarations the snapshot holds: prepare a new snapshot")
    pool, labelled = later
    resulted = outcomes.filter(pl.col("recorded_on").is_between(snap.as_of, until, closed="right"))["lrn"]
    return advance(snap, pool, labelled, as_of=until, resulted=frozenset(resulted.to_list()))


def _finish(targets: pl.DataFrame, *parts: pl.DataFrame, aligned: bool = False) -> pl.DataFrame:
    """``targets`` (in ``_order``) with the feature ``parts`` joined on ``row_id``, or, when ``aligned`` (the
    parts hold the targets' rows in the same order), placed beside them."""
    if aligned:
        out = pl.concat([targets, *[part.drop("row_id") for part in parts]], how="horizontal")
    else:
        out = targets
        for part in parts:
            out = out.join(part, on="row_id", how="left", maintain_order="left")
        out = out.sort("_order")
    return out.select(pl.exclude("_order"), *_flag_columns())


@cache
def _flag_columns() -> tuple[pl.Expr, ...]:
    return (
        (pl.col("importer_count") == 0).cast(pl.Int8).alias("new_importer"),
        (pl.col("importer_hs_count") == 0).cast(pl.Int8).alias("new_importer_hs"),
        (pl.col("importer_route_count") == 0).cast(pl.Int8).alias("new_importer_route"),
        (pl.col("declarant_importer_count") == 0).cast(pl.Int8).alias("new_declarant_importer"),
    )


def _from_snapshot(
    snap: HistorySnapshot,
    *,
    targets: pl.DataFrame,
    order: pl.DataFrame,
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
) -> pl.DataFrame | None:
    """:func:`build_features` from ``snap`` plus what is dated after it; None when ``snap`` cannot serve."""
    days = targets["declared_on"]
    first_day, last_day = days.min(), days.max()
    if (
        snap.as_of is None
        or days.null_count()
        or not isinstance(first_day, dt.date)
        or not isinstance(last_day, dt.date)
        or first_day <= snap.as_of
    ):
        return None
    later = _after_snapshot(snap, history=history, outcomes=outcomes, targets=targets)
    if later is None:
        return None
    pool, labelled = later
    if pool.height == order.height and pool.select("lrn", "item_no").equals(order.drop("_order")):
        # the targets alone, already in order (live scoring): the join would place each row where it is
        rows = pool.select(order["_order"], "lrn", "item_no", pl.exclude("lrn", "item_no"))
    else:
        rows = order.join(pool, on=["lrn", "item_no"], how="left", maintain_order="left")
    # only what is dated before the last scored day can reach a feature
    newer = pool.filter(pl.col("declared_on") < last_day)
    results = labelled.filter(pl.col("recorded_on") < last_day)
    if rows.height <= SMALL_BATCH and newer.height == 0 and results.height == 0:
        # live scoring: a few declarations of one day, nothing between the snapshot and them
        return _finish(
            rows,
            history_counts_lookup(rows, snap),
            hit_rates_lookup(rows, snap),
            unit_value_from_snapshot(rows, snap, None),
            aligned=True,
        )
    if newer.height:
        counts = history_counts(rows, count_tables(newer, rows), base=snap.counts)
    else:
        counts = history_counts(rows, None, base=snap.counts)
    if results.height:
        overall, tables = rate_tables(results, rows)
        rates = hit_rates(rows, overall, tables, base=snap)
    else:
        rates = hit_rates(rows, None, None, base=snap)
    unit_values = unit_value_from_snapshot(rows, snap, newer if newer.height else None)
    return _finish(rows, counts, rates, unit_values)


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
    training can use to mimic late results).

    With a ``snapshot`` (from :func:`prepare_snapshot`) and every declaration dated after ``snapshot.as_of``,
    the history dated on or before ``snapshot.as_of`` is read from the snapshot instead of ``history`` and
    ``outcomes`` (which then need only what came after it): same values, and the cost of the batch's own days
    only. Otherwise (earlier declarations, a re-declared one, a lag) the full computation runs.
    """
    targets = conform(declarations, DECLARATION_SCHEMA)
    order = targets.select("lrn", "item_no").with_row_index("_order")
    if snapshot is not None and outcome_lag_days == 0:
        features = _from_snapshot(snapshot, targets=targets, order=order, history=history, outcomes=outcomes)
        if features is not None:
            return features
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
