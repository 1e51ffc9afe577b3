"""Manifest reconciliation: what the carriers reported (CUSCAR, IFTMCS) against what was declared.

Pure frame work: declarations in ``ingest.frame.LINK_SCHEMA``, manifest lines in ``MANIFEST_SCHEMA``
(``ingest.store.load_declaration_links`` / ``load_manifest_lines``), discrepancies out in
:data:`DISCREPANCY_SCHEMA`, one row per finding, of the kinds of ``core.vocabulary.MANIFEST_DISCREPANCIES``.
A finding with an ``lrn`` is a reason on that declaration (``scoring.manifest`` gives it points and the
fields a risk profile tests); one without is an alert on the manifest line nobody declared.

A consignment is linked to a declaration that states its transport document number (``consignment_ref``) or
one of its containers, dated from ``window_days`` before its arrival to ``window_days`` after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import polars as pl
from sqlalchemy import Engine

from borderwatch.core.containers import is_container_number
from borderwatch.ingest.store import load_declaration_links, load_manifest_lines

DISCREPANCY_SCHEMA: Final[dict[str, pl.DataType]] = {
    "kind": pl.String(),  # one of core.vocabulary.MANIFEST_DISCREPANCIES
    "lrn": pl.String(),  # null: an alert on the manifest line (nobody declared it)
    "manifest_ref": pl.String(),
    "consignment_ref": pl.String(),
    "container_id": pl.String(),
    "declared": pl.Float64(),  # net mass, for weight_gap
    "manifested": pl.Float64(),  # gross mass, for weight_gap
    "other_lrn": pl.String(),  # container_conflict: the other declaration
}


@dataclass(frozen=True)
class ReconcileConfig:
    """``window_days``: how long after arrival a consignment may stay undeclared (and how far a declaration's
    date may be from the arrival to match it). A declared net mass above the manifested gross mass by more
    than ``over`` (a fraction), or below it by more than ``under``, is a weight gap (packaging explains
    some difference: gross is above net)."""

    window_days: int = 7
    over: float = 0.05
    under: float = 0.35


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=DISCREPANCY_SCHEMA)


def _rows(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    return frame.with_columns(pl.lit(kind).alias("kind")).select(
        [
            (pl.col(name) if name in frame.columns or name == "kind" else pl.lit(None))
            .cast(dtype)
            .alias(name)
            for name, dtype in DISCREPANCY_SCHEMA.items()
        ]
    )


def _links(declarations: pl.DataFrame, consignments: pl.DataFrame, window: int) -> pl.DataFrame:
    """(manifest_ref, consignment_ref, lrn) of each consignment and each declaration that names it."""
    heads = declarations.unique("lrn", keep="first", maintain_order=True)
    by_document = (
        heads.select("lrn", "declared_on", pl.col("documents").alias("ref"))
        .explode("ref")
        .join(
            consignments.select(
                "manifest_ref", "consignment_ref", "arrival_on", pl.col("consignment_ref").alias("ref")
            ),
            on="ref",
        )
    )
    containers = consignments.select(
        "manifest_ref", "consignment_ref", "arrival_on", "container_ids"
    ).explode("container_ids")
    by_container = (
        heads.select("lrn", "declared_on", "container_ids")
        .explode("container_ids")
        .join(containers, on="container_ids")
    )
    near = (pl.col("declared_on") - pl.col("arrival_on")).dt.total_days().abs() <= window
    return pl.concat(
        [
            by_document.filter(near).select("manifest_ref", "consignment_ref", "lrn"),
            by_container.filter(near).select("manifest_ref", "consignment_ref", "lrn"),
        ]
    ).unique(maintain_order=True)


def reconcile(
    declarations: pl.DataFrame,
    manifest: pl.DataFrame,
    *,
    as_of: date,
    config: ReconcileConfig | None = None,
) -> pl.DataFrame:
    """The discrepancies between ``declarations`` (``LINK_SCHEMA``) and ``manifest`` (``MANIFEST_SCHEMA``)
    known on ``as_of``: a consignment is undeclared once ``window_days`` have passed since its arrival."""
    config = config or ReconcileConfig()
    found = [_check_digits(declarations, manifest)]
    if manifest.height == 0:
        return pl.concat(found)
    consignments = manifest.group_by("manifest_ref", "consignment_ref", maintain_order=True).agg(
        pl.col("arrival_on").first(),
        pl.col("container_ids")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique(maintain_order=True),
        pl.col("gross_mass").sum().alias("gross"),
        pl.col("gross_mass").is_null().any().alias("gross_missing"),
        pl.col("hs_code").drop_nulls().str.slice(0, 2).unique().alias("chapters"),
    )
    links = _links(declarations, consignments, config.window_days)
    found.append(_undeclared(consignments, links, as_of, config.window_days))
    linked = consignments.join(links, on=["manifest_ref", "consignment_ref"])
    found.append(_undeclared_containers(declarations, consignments, links))
    found.append(_weight_gaps(declarations, linked, config))
    found.append(_hs_conflicts(declarations, linked))
    found.append(_container_conflicts(declarations, consignments, links))
    return pl.concat(found).unique(maintain_order=True)


def _check_digits(declarations: pl.DataFrame, manifest: pl.DataFrame) -> pl.DataFrame:
    ok = pl.col("container_id").map_elements(is_container_number, return_dtype=pl.Boolean)
    declared = (
        declarations.unique("lrn", keep="first", maintain_order=True)
        .select("lrn", pl.col("container_ids").alias("container_id"))
        .explode("container_id")
        .drop_nulls("container_id")
        .unique(maintain_order=True)
    )
    reported = (
        manifest.select("manifest_ref", "consignment_ref", pl.col("container_ids").alias("container_id"))
        .explode("container_id")
        .drop_nulls("container_id")
        .unique(maintain_order=True)
    )
    return pl.concat(
        [
            _rows(declared.filter(~ok), "container_check_digit"),
            _rows(reported.filter(~ok), "container_check_digit"),
        ]
    )


def _undeclared(consignments: pl.DataFrame, links: pl.DataFrame, as_of: date, window: int) -> pl.DataFrame:
    due = consignments.filter(pl.col("arrival_on") + timedelta(days=window) < as_of)
    return _rows(
        due.join(links, on=["manifest_ref", "consignment_ref"], how="anti"), "undeclared_consignment"
    )


def _undeclared_containers(
    declarations: pl.DataFrame, consignments: pl.DataFrame, links: pl.DataFrame
) -> pl.DataFrame:
    """Containers of a declared consignment that none of its declarations states (when they state any)."""
    stated = (
        links.join(declarations.unique("lrn", keep="first").select("lrn", "container_ids"), on="lrn")
        .explode("container_ids")
        .drop_nulls("container_ids")
        .select("manifest_ref", "consignment_ref", pl.col("container_ids").alias("container_id"))
        .unique()
    )
    reported = (
        consignments.join(
            stated.select("manifest_ref", "consignment_ref").unique(), on=["manifest_ref", "consignment_ref"]
        )
        .select("manifest_ref", "consignment_ref", pl.col("container_ids").alias("container_id"))
        .explode("container_id")
        .drop_nulls("container_id")
    )
    missing = reported.join(stated, on=["manifest_ref", "consignment_ref", "container_id"], how="anti")
    return _rows(missing, "undeclared_container")


def _weight_gaps(declarations: pl.DataFrame, linked: pl.DataFrame, config: ReconcileConfig) -> pl.DataFrame:
    """Each consignment's declared net mass (all its declarations) against its manifested gross mass."""
    net = declarations.group_by("lrn").agg(
        pl.col("net_mass").sum().alias("net"), pl.col("net_mass").is_null().any().alias("net_missing")
    )
    totals = (
        linked.filter(~pl.col("gross_missing") & (pl.col("gross") > 0))
        .join(net, on="lrn")
        .filter(~pl.col("net_missing"))
        .with_columns(pl.col("net").sum().over("manifest_ref", "consignment_ref").alias("declared"))
    )
    gap = totals.filter(
        (pl.col("declared") > pl.col("gross") * (1 + config.over))
        | (pl.col("declared") < pl.col("gross") * (1 - config.under))
    )
    return _rows(gap.with_columns(pl.col("gross").alias("manifested")), "weight_gap")


def _hs_conflicts(declarations: pl.DataFrame, linked: pl.DataFrame) -> pl.DataFrame:
    """Declarations none of whose goods items is of an HS chapter their consignment's manifest carries."""
    chapters = declarations.group_by("lrn").agg(
        pl.col("hs_code").str.slice(0, 2).unique().alias("declared_chapters")
    )
    checked = linked.filter(pl.col("chapters").list.len() > 0).join(chapters, on="lrn")
    conflict = checked.filter(
        pl.col("declared_chapters").list.set_intersection(pl.col("chapters")).list.len() == 0
    )
    return _rows(conflict, "hs_conflict")


def _container_conflicts(
    declarations: pl.DataFrame, consignments: pl.DataFrame, links: pl.DataFrame
) -> pl.DataFrame:
    """A container the manifest gives to one consignment (a full load) that declarations of two importers
    state: both cannot be true. Each declaration is named with the other."""
    single = (
        consignments.select("manifest_ref", "consignment_ref", pl.col("container_ids").alias("container_id"))
        .explode("container_id")
        .drop_nulls("container_id")
        .filter(pl.len().over("manifest_ref", "container_id") == 1)
    )
    heads = declarations.unique("lrn", keep="first", maintain_order=True)
    stating = (
        heads.select("lrn", "importer_id", pl.col("container_ids").alias("container_id"))
        .explode("container_id")
        .join(single, on="container_id")
        .join(links, on=["manifest_ref", "consignment_ref", "lrn"], how="semi")
    )
    pairs = stating.join(
        stating.select(
            "manifest_ref",
            "container_id",
            pl.col("lrn").alias("other_lrn"),
            pl.col("importer_id").alias("other_importer"),
        ),
        on=["manifest_ref", "container_id"],
    )
    conflict = pairs.filter(
        (pl.col("lrn") != pl.col("other_lrn"))
        & (pl.col("importer_id").fill_null("") != pl.col("other_importer").fill_null(""))
    )
    return _rows(conflict, "container_conflict")


def stored_discrepancies(
    engine: Engine,
    *,
    agency: str,
    since: date,
    until: date,
    as_of: date,
    config: ReconcileConfig | None = None,
) -> pl.DataFrame:
    """Reconcile ``agency``'s stored manifests arriving ``since`` to ``until`` with its declarations dated
    from ``window_days`` before to ``window_days`` after (what ``reconcile`` may link them to)."""
    config = config or ReconcileConfig()
    window = timedelta(days=config.window_days)
    manifest = load_manifest_lines(engine, agency=agency, since=since, until=until)
    if manifest.height == 0:
        return _empty()
    declarations = load_declaration_links(engine, agency=agency, since=since - window, until=until + window)
    return reconcile(declarations, manifest, as_of=as_of, config=config)


def discrepancies_of(
    engine: Engine, *, agency: str, lrns: list[str], days: list[date], config: ReconcileConfig | None = None
) -> pl.DataFrame:
    """The discrepancies naming ``lrns`` (declared on ``days``): what scoring adds to their reasons. Empty,
    at the cost of one indexed query, where no manifest arrived near those days."""
    if not lrns or not days:
        return _empty()
    config = config or ReconcileConfig()
    window = timedelta(days=config.window_days)
    found = stored_discrepancies(
        engine,
        agency=agency,
        since=min(days) - window,
        until=max(days) + window,
        as_of=max(days),
        config=config,
    )
    return found.filter(pl.col("lrn").is_in(lrns))
