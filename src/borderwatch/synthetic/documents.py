"""Synthetic trade documents for declarations, with forged and re-used ones planted and their ground truth.

Every declaration states one certificate of origin. Its issuer is one of ``issuers`` chambers of commerce;
the first ``registering`` of them register every certificate they issue in the document ledger, the others
none. Planted, with ground truth (``core.vocabulary.DOCUMENT_FINDINGS``):

- **reused**: the declaration states the very certificate (same bytes) an earlier declaration stated;
- **altered**: the certificate carries the number of one its (registering) issuer issued, with other bytes;
- **unregistered**: a registering issuer's name and a number it never issued.

Certificates of issuers that do not register are stated as they are (no finding is expected of them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from borderwatch.core.vocabulary import DOCUMENT_FINDINGS

DOC_TYPE = "certificate_of_origin"


@dataclass(frozen=True)
class PlantedDocuments:
    issued: pl.DataFrame
    """What the issuers registered: issuer, doc_type, number, content (the certificate's bytes)."""
    stated: pl.DataFrame
    """What the declarations state, in their order: lrn, doc_type, number, issuer, sha256 (hex)."""
    truth: pl.DataFrame
    """Per declaration: lrn and ``finding`` (a planted one, or null for an honest certificate)."""


def _content(issuer: str, number: str, variant: str) -> bytes:
    return f"CERTIFICATE OF ORIGIN\nissuer: {issuer}\nnumber: {number}\n{variant}\n".encode()


def plant_documents(
    lrns: Sequence[str],
    *,
    seed: int = 7,
    issuers: int = 20,
    registering: int = 12,
    share: float = 0.02,
) -> PlantedDocuments:
    """Certificates for ``lrns`` (in the order they are declared), ``share`` of them planted per finding."""
    rng = np.random.default_rng(seed)
    names = [f"chamber-{i:02d}" for i in range(issuers)]
    count = len(lrns)
    kind = np.full(count, "", dtype=object)
    # plants of registering issuers' certificates (only those can be checked)
    issuer_of = rng.integers(0, issuers, size=count)
    planted = rng.permutation(np.arange(1, count))
    per_kind = int(count * share)
    for position, planted_kind in enumerate(DOCUMENT_FINDINGS):
        chosen = planted[position * per_kind : (position + 1) * per_kind]
        kind[chosen] = planted_kind
        issuer_of[chosen] = rng.integers(0, registering, size=chosen.size)
    issued: list[tuple[str, str, str, bytes]] = []
    stated: list[tuple[str, str, str, str, str]] = []
    truth: list[tuple[str, str | None]] = []
    honest: list[int] = []  # positions of honest certificates of registering issuers, to re-use from
    for i, lrn in enumerate(lrns):
        issuer = names[int(issuer_of[i])]
        number = f"CO-{issuer[-2:]}-{i:08d}"
        finding: str | None = kind[i] or None
        if finding == "reused" and honest:
            # the very certificate of an earlier declaration
            _, doc_type, number, issuer, digest = stated[honest[int(rng.integers(0, len(honest)))]]
            stated.append((lrn, doc_type, number, issuer, digest))
            truth.append((lrn, finding))
            continue
        if finding == "reused":  # nothing to re-use yet: an honest one
            finding = None
        elif finding is None and int(issuer_of[i]) < registering:
            honest.append(i)
        content = _content(issuer, number, "original")
        if int(issuer_of[i]) < registering and finding != "unregistered":
            issued.append((issuer, DOC_TYPE, number, content))
        if finding == "altered":
            content = _content(issuer, number, "quantity amended by hand")
        stated.append((lrn, DOC_TYPE, number, issuer, hashlib.sha256(content).hexdigest()))
        truth.append((lrn, finding))
    return PlantedDocuments(
        issued=pl.DataFrame(
            issued,
            schema={"issuer": pl.String, "doc_type": pl.String, "number": pl.String, "content": pl.Binary},
            orient="row",
        ),
        stated=pl.DataFrame(
            stated,
            schema={
                "lrn": pl.String,
                "doc_type": pl.String,
                "number": pl.String,
                "issuer": pl.String,
                "sha256": pl.String,
            },
            orient="row",
        ),
        truth=pl.DataFrame(truth, schema={"lrn": pl.String, "finding": pl.String}, orient="row"),
    )
