"""Findings about a declaration's documents as scoring evidence: points, reasons and risk-profile fields.

The check itself (is this document in the document ledger, was it presented before, did its issuer register
another version) belongs to a later stage (``ledger``); scoring states what it expects of one,
:class:`DocumentCheck`, and takes its findings as rows of :data:`DOCUMENT_FINDING_SCHEMA`, as it takes
watchlist hits. Each declaration with findings gets the points of each kind of finding it has, one reason
per finding, and the counts ``document_reused``, ``document_altered`` and ``document_unregistered`` that a
risk profile may test (``{field: document_altered, op: gt, value: 0}`` with ``force_lane: red``).
"""

from __future__ import annotations

from typing import Final, Protocol

import polars as pl

from borderwatch.core.vocabulary import DOCUMENT_FINDINGS, DocumentFinding
from borderwatch.scoring.findings import findings_evidence

DOCUMENT_FINDING_SCHEMA: Final[dict[str, pl.DataType]] = {
    "lrn": pl.String(),
    "finding": pl.String(),  # one of core.vocabulary.DOCUMENT_FINDINGS
    "doc_type": pl.String(),
    "issuer": pl.String(),
    "number": pl.String(),
    "other_lrn": pl.String(),  # reused: a declaration that presented it before
}
DOCUMENT_POINTS: Final[dict[DocumentFinding, float]] = {"reused": 25.0, "altered": 30.0, "unregistered": 10.0}
DOCUMENT_FIELDS: Final[tuple[str, ...]] = tuple(f"document_{finding}" for finding in DOCUMENT_FINDINGS)


class DocumentCheck(Protocol):
    """Checks documents (``ingest.frame.DOCUMENT_SCHEMA`` rows) of ``agency``'s declarations; returns the
    findings as :data:`DOCUMENT_FINDING_SCHEMA` rows (none for a document found in order)."""

    def __call__(self, documents: pl.DataFrame, *, agency: str) -> pl.DataFrame: ...


def no_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=DOCUMENT_FINDING_SCHEMA)


def document_evidence(lrns: pl.Series, findings: pl.DataFrame | None) -> pl.DataFrame:
    """Per element of ``lrns`` (in order): ``document_points``, ``document_reasons`` (sentences),
    ``document_codes`` (``DOCUMENT-<FINDING>`` with its points, one per sentence) and the three
    ``document_*`` counts."""
    sentence = pl.format(
        "document: {} {} of {} {}",
        pl.col("doc_type").str.replace_all("_", " "),
        pl.col("number"),
        pl.col("issuer"),
        pl.when(pl.col("finding") == "reused")
        .then(pl.format("re-used: already presented with declaration {}", pl.col("other_lrn").fill_null("?")))
        .when(pl.col("finding") == "altered")
        .then(pl.lit("altered: its issuer registered a different version"))
        .otherwise(pl.lit("unregistered: not in the ledger, though its issuer registers all its documents")),
    )
    return findings_evidence(
        lrns,
        findings,
        family="document",
        kind="finding",
        points=DOCUMENT_POINTS,
        sentence=sentence,
        what="document findings",
    )
