"""Why a declaration scored as it did, as data: a stable id, a family and the figures behind it.

Scoring writes one :class:`Reason` per reason sentence (``reason_codes`` beside ``reasons``, same order and
length); scores and lane decisions store both. Stages group, count and compare by ``id`` and ``family``
(monitoring's hit rate per risk profile, for one): renaming a risk profile or changing its points changes
its sentence, not its id. The sentence is for people and is rendered at the edge.

In a Polars frame the codes are a ``List(Struct{id, family, figures})`` column (:data:`REASON_CODES`) whose
``figures`` are JSON text (they differ by family); stored, they are JSON objects (:meth:`Reason.to_json`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import polars as pl

ReasonFamily = Literal[
    "profile",  # a risk profile (rule) hit: id = the profile's id
    "screening",  # a party resembles a watchlist entry
    "document",  # the document ledger's finding about a presented document
    "manifest",  # reconciling the declaration with the carrier's manifest
    "vehicle",  # an open alert on the declaration's vehicle
    "revenue",  # placed by its revenue at risk rather than its fraud probability
    "model",  # one of the model's top contributions (TreeSHAP, summed by feature family)
    "anomaly",  # an anomaly detector fired
    "item",  # which goods item of several the declaration's score comes from
    "no_model",  # scored without a model
    "legacy",  # a reason stored before reasons had ids (only its sentence is known)
]
REASON_FAMILIES: Final[tuple[ReasonFamily, ...]] = (
    "profile",
    "screening",
    "document",
    "manifest",
    "vehicle",
    "revenue",
    "model",
    "anomaly",
    "item",
    "no_model",
    "legacy",
)

# Ids of the reasons that are not a risk profile's (those are ``<FAMILY>-<what>``; a profile's id is its own).
SCREENING_HIT: Final = "SCREENING-HIT"
REVENUE_AT_RISK: Final = "REVENUE-AT-RISK"
RISKIEST_ITEM: Final = "ITEM-RISKIEST"
NO_MODEL: Final = "NO-MODEL"

Figure = float | str
REASON_CODE: Final = pl.Struct({"id": pl.String(), "family": pl.String(), "figures": pl.String()})
REASON_CODES: Final = pl.List(REASON_CODE)


@dataclass(frozen=True)
class Reason:
    """One reason: ``id`` stays the same however its sentence is worded; ``figures`` are the numbers (and
    names) its sentence shows, e.g. a profile's ``points`` or a watchlist match's ``score``."""

    id: str
    family: ReasonFamily
    figures: Mapping[str, Figure] = field(default_factory=dict, hash=False)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "family": self.family, "figures": dict(self.figures)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Reason:
        figures = value.get("figures") or {}
        if isinstance(figures, str):  # as a frame carries them
            figures = json.loads(figures) if figures else {}
        family = value.get("family") or "legacy"
        return cls(
            id=str(value["id"]), family=family if family in REASON_FAMILIES else "legacy", figures=figures
        )


def family_id(family: ReasonFamily, what: str) -> str:
    """The id of a reason of ``family`` about ``what`` (a finding, a detector, a feature family):
    ``document`` + ``reused`` → ``DOCUMENT-REUSED``."""
    return f"{family}-{what}".upper().replace("_", "-").replace(":", "-")


def code(reason_id: pl.Expr | str, family: ReasonFamily, **figures: pl.Expr | Figure) -> pl.Expr:
    """A reason code per row (a :data:`REASON_CODE` struct) with ``figures`` as JSON text."""
    identity = reason_id if isinstance(reason_id, pl.Expr) else pl.lit(reason_id, dtype=pl.String)
    encoded = (
        pl.struct(
            [(v if isinstance(v, pl.Expr) else pl.lit(v)).alias(k) for k, v in figures.items()]
        ).struct.json_encode()
        if figures
        else pl.lit("{}", dtype=pl.String)
    )
    return pl.struct(
        identity.cast(pl.String).alias("id"),
        pl.lit(family, dtype=pl.String).alias("family"),
        encoded.alias("figures"),
    )


def no_codes() -> pl.Expr:
    """An empty list of reason codes per row."""
    return pl.lit([], dtype=REASON_CODES)


def codes_to_json(codes: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Reason codes as a frame row holds them (figures as JSON text) → as they are stored (JSON objects)."""
    return [Reason.from_json(c).to_json() for c in codes or ()]


def codes_from_json(stored: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Stored reason codes → as a frame row holds them (figures as JSON text), for :data:`REASON_CODES`."""
    return [
        {
            "id": str(c["id"]),
            "family": str(c.get("family") or "legacy"),
            "figures": json.dumps(c.get("figures") or {}),
        }
        for c in stored or ()
    ]
