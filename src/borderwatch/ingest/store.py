"""Stored declarations and outcomes as Polars frames, in exactly the schemas of ``ingest.frame``.

These loaders are the one way later stages (features, scoring, lanes, feedback) read what ingest stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Engine, Integer, case, func, select

from borderwatch.ingest.frame import (
    DECLARATION_SCHEMA,
    DOCUMENT_SCHEMA,
    LINK_SCHEMA,
    MANIFEST_SCHEMA,
    OUTCOME_SCHEMA,
)
from borderwatch.ingest.models import DeclarationRow, GoodsItemRow, ManifestLineRow, OutcomeRow

# Chunk for ``lrn IN (...)`` filters: well under SQLite's bound-parameter limit.
_IN_CHUNK = 5000


def _frame(rows: Sequence[Sequence[Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame([tuple(row) for row in rows], schema=schema, orient="row")


def load_declarations(
    engine: Engine,
    *,
    agency: str | None = None,
    since: date | None = None,
    until: date | None = None,
    lrns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Current versions of stored declarations, one row per goods item, in ``DECLARATION_SCHEMA``.

    ``since`` and ``until`` bound the declaration date (both inclusive); ``lrns`` restricts to those ids.
    Rows are ordered by date, LRN and item number.
    """
    d, g = DeclarationRow, GoodsItemRow
    columns = {
        "lrn": d.lrn,
        "declared_on": d.declared_on,
        "agency": d.agency,
        "office": d.office,
        "process_type": d.process_type,
        "import_type": d.import_type,
        "import_use": d.import_use,
        "payment_type": d.payment_type,
        "transport_mode": d.transport_mode,
        "departure_country": d.departure_country,
        "origin_country": d.origin_country,
        "origin_indicator": d.origin_indicator,
        "transit_countries": d.transit_countries,
        "importer_id": d.importer_id,
        "declarant_id": d.declarant_id,
        "seller_id": d.seller_id,
        "courier_id": d.courier_id,
        "item_no": g.item_no,
        "hs_code": g.hs_code,
        "net_mass": g.net_mass,
        "customs_value": g.customs_value,
        "currency": g.currency,
        "tax_rate": g.tax_rate,
        "tax_type": g.tax_type,
    }
    if list(columns) != list(DECLARATION_SCHEMA):
        raise AssertionError("load_declarations columns drifted from DECLARATION_SCHEMA")
    query = select(*columns.values()).join(g, g.declaration_id == d.id).where(d.is_current.is_(True))
    if agency is not None:
        query = query.where(d.agency == agency)
    if since is not None:
        query = query.where(d.declared_on >= since)
    if until is not None:
        query = query.where(d.declared_on <= until)
    rows: list[Sequence[Any]] = []
    with engine.connect() as connection:
        if lrns is None:
            rows.extend(connection.execute(query.order_by(d.declared_on, d.lrn, g.item_no)).all())
            return _frame(rows, DECLARATION_SCHEMA)
        # A few LRNs: no ORDER BY, sorted here. Ordered by date, SQLite's planner (when its statistics are
        # missing, as on a new database) prefers walking every current declaration in date order to the
        # look-up by LRN.
        wanted = list(dict.fromkeys(lrns))
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            rows.extend(connection.execute(query.where(d.lrn.in_(chunk))).all())
    return _frame(rows, DECLARATION_SCHEMA).sort("declared_on", "lrn", "item_no")


def load_outcomes(
    engine: Engine, *, agency: str | None = None, since: date | None = None, before: date | None = None
) -> pl.DataFrame:
    """Stored inspection outcomes in ``OUTCOME_SCHEMA``; ``since`` keeps those recorded on or after it,
    ``before`` those recorded strictly earlier."""
    o = OutcomeRow
    query = select(o.lrn, o.recorded_on, o.fraud, o.critical_fraud).order_by(o.recorded_on, o.lrn, o.id)
    if agency is not None:
        query = query.where(o.agency == agency)
    if since is not None:
        query = query.where(o.recorded_on >= since)
    if before is not None:
        query = query.where(o.recorded_on < before)
    with engine.connect() as connection:
        rows = [
            (lrn, recorded_on, int(bool(fraud)), int(critical))
            for lrn, recorded_on, fraud, critical in connection.execute(query)
        ]
    return _frame(rows, OUTCOME_SCHEMA)


def load_documents(engine: Engine, *, agency: str, lrns: Sequence[str]) -> pl.DataFrame:
    """The documents the current versions of ``lrns`` state, in ``DOCUMENT_SCHEMA`` (ordered by LRN, then
    as the declaration lists them); a document without a number is left out."""
    d = DeclarationRow
    rows: list[tuple[Any, ...]] = []
    wanted = list(dict.fromkeys(lrns))
    with engine.connect() as connection:
        for start in range(0, len(wanted), _IN_CHUNK):
            query = select(d.lrn, d.documents).where(
                d.lrn.in_(wanted[start : start + _IN_CHUNK]), d.is_current.is_(True), d.agency == agency
            )
            for lrn, documents in connection.execute(query):
                rows.extend(
                    (lrn, doc.get("type"), doc.get("number"), doc.get("issuer"), doc.get("sha256"))
                    for doc in documents or []
                    if isinstance(doc, dict) and doc.get("number")
                )
    return _frame(rows, DOCUMENT_SCHEMA).sort("lrn", maintain_order=True)


def _words(text: str | None) -> list[str]:
    return text.split() if text else []


def load_declaration_links(engine: Engine, *, agency: str, since: date, until: date) -> pl.DataFrame:
    """Current declarations of ``agency`` dated ``since`` to ``until`` (inclusive) in ``LINK_SCHEMA``: what
    reconciliation matches with manifests (containers, document numbers) and compares (goods, mass)."""
    d, g = DeclarationRow, GoodsItemRow
    query = (
        select(d.lrn, d.declared_on, d.importer_id, d.container_ids, d.documents, g.item_no, g.hs_code)
        .add_columns(g.net_mass)
        .join(g, g.declaration_id == d.id)
        .where(d.is_current.is_(True), d.agency == agency, d.declared_on >= since, d.declared_on <= until)
        .order_by(d.declared_on, d.lrn, g.item_no)
    )
    with engine.connect() as connection:
        rows = [
            (
                lrn,
                day,
                importer,
                _words(containers),
                [
                    str(doc["number"])
                    for doc in documents or []
                    if isinstance(doc, dict) and doc.get("number")
                ],
                item_no,
                hs_code,
                net_mass,
            )
            for lrn, day, importer, containers, documents, item_no, hs_code, net_mass in connection.execute(
                query
            )
        ]
    return _frame(rows, LINK_SCHEMA)


def load_manifest_lines(engine: Engine, *, agency: str, since: date, until: date) -> pl.DataFrame:
    """Manifest lines of ``agency`` arriving ``since`` to ``until`` (inclusive) in ``MANIFEST_SCHEMA``."""
    m = ManifestLineRow
    query = (
        select(m.message_type, m.manifest_ref, m.arrival_on, m.consignment_ref, m.consignee, m.item_no)
        .add_columns(m.hs_code, m.description, m.packages, m.gross_mass, m.container_ids)
        .where(m.agency == agency, m.arrival_on >= since, m.arrival_on <= until)
        .order_by(m.arrival_on, m.manifest_ref, m.consignment_ref, m.item_no)
    )
    with engine.connect() as connection:
        rows = [(*row[:-1], _words(row[-1])) for row in connection.execute(query)]
    return _frame(rows, MANIFEST_SCHEMA)


@dataclass(frozen=True)
class StoredDays:
    """How many rows the store holds per day: declarations by declaration date (all versions, current
    ones), outcomes by recording date.

    Rows are never deleted and a declaration changes only by a new version (its old row stops being
    current), so a day whose counts did not change holds the same current declarations and outcomes."""

    declarations: dict[date, tuple[int, int]]
    outcomes: dict[date, int]

    def changed_since(self, earlier: StoredDays) -> set[date]:
        """The days whose declarations or outcomes differ from ``earlier``'s (or only one of them has)."""
        return {
            day
            for counts, before in (
                (self.declarations, earlier.declarations),
                (self.outcomes, earlier.outcomes),
            )
            for day in counts.keys() | before.keys()
            if counts.get(day) != before.get(day)
        }


def stored_days(engine: Engine, *, agency: str | None = None, before: date | None = None) -> StoredDays:
    """The per-day counts of :class:`StoredDays`, of days strictly before ``before`` when given: a few
    milliseconds where loading the rows takes a large fraction of a second."""
    d, o = DeclarationRow, OutcomeRow
    declarations = select(
        d.declared_on, func.count(), func.sum(case((d.is_current, 1), else_=0), type_=Integer)
    ).group_by(d.declared_on)
    outcomes = select(o.recorded_on, func.count()).group_by(o.recorded_on)
    if agency is not None:
        declarations = declarations.where(d.agency == agency)
        outcomes = outcomes.where(o.agency == agency)
    if before is not None:
        declarations = declarations.where(d.declared_on < before)
        outcomes = outcomes.where(o.recorded_on < before)
    with engine.connect() as connection:
        return StoredDays(
            declarations={
                day: (int(n), int(current)) for day, n, current in connection.execute(declarations)
            },
            outcomes={day: int(n) for day, n in connection.execute(outcomes)},
        )
