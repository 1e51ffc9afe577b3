"""Why a declaration scored as it did, as data: a stable id, a family and the figures behind it.

Scoring writes one :class:`Reason` per reason sentence (``reason_codes`` beside ``reasons``, same order and
length); scores and lane decisions store both. Stages group, count and compare by ``id`` and ``family``
(monitoring's hit rate per risk profile, for one): renaming a risk profile or changing its points changes
its sentence, not its id. The sentence is for people and is rendered at the edge.

In a Polars frame the codes are a list of JSON texts (:data:`REASON_CODES`, :meth:`Reason.to_text`); stored,
they are JSON objects (:meth:`Reason.to_json`).
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
# One code per reason, each the JSON text of :meth:`Reason.to_json`: a list of strings concatenates and
# groups as cheaply as the sentences (a list of structs cost scoring a third more on a batch).
REASON_CODES: Final = pl.List(pl.String())


@dataclass(frozen=True)
class Reason:
    """One reason: ``id`` stays the same however its sentence is worded; ``figures`` are the numbers (and
    names) its sentence shows, e.g. a profile's ``points`` or a watchlist match's ``score``."""

    id: str
    family: ReasonFamily
    figures: Mapping[str, Figure] = field(default_factory=dict, hash=False)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "family": self.family, "figures": dict(self.figures)}

    def to_text(self) -> str:
        """As a frame carries it (an element of :data:`REASON_CODES`)."""
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | str) -> Reason:
        """From a stored code (a JSON object) or a frame's (its text)."""
        if isinstance(value, str):
            value = json.loads(value)
            assert isinstance(value, Mapping)
        figures = value.get("figures") or {}
        family = value.get("family") or "legacy"
        return cls(
            id=str(value["id"]), family=family if family in REASON_FAMILIES else "legacy", figures=figures
        )


def family_id(family: ReasonFamily, what: str) -> str:
    """The id of a reason of ``family`` about ``what`` (a finding, a detector, a feature family):
    ``document`` + ``reused`` → ``DOCUMENT-REUSED``."""
    return f"{family}-{what}".upper().replace("_", "-").replace(":", "-")


def code(reason_id: pl.Expr | str, family: ReasonFamily, **figures: pl.Expr | Figure) -> pl.Expr:
    """A reason code per row (an element of :data:`REASON_CODES`) whose id or figures vary by row."""
    if isinstance(reason_id, str) and not any(isinstance(v, pl.Expr) for v in figures.values()):
        return pl.lit(
            Reason(
                reason_id, family, {k: v for k, v in figures.items() if not isinstance(v, pl.Expr)}
            ).to_text()
        )
    identity = (
        (reason_id if isinstance(reason_id, pl.Expr) else pl.lit(reason_id)).cast(pl.String).alias("id")
    )
    if not figures:  # an empty struct cannot be encoded: the id's object, completed
        head = pl.struct(identity).struct.json_encode().str.strip_suffix("}")
        return head + pl.lit(f',"family":"{family}","figures":{{}}}}')
    values = pl.struct([(v if isinstance(v, pl.Expr) else pl.lit(v)).alias(k) for k, v in figures.items()])
    return pl.struct(identity, pl.lit(family).alias("family"), values.alias("figures")).struct.json_encode()


def fixed_codes(key: pl.Expr, reasons: Mapping[str, Reason]) -> pl.Expr:
    """The code of each ``key`` (a detector's or a profile's id), for reasons whose id and figures are fixed
    per key: looked up, not built per row."""
    return key.replace_strict({k: r.to_text() for k, r in reasons.items()}, return_dtype=pl.String)


def no_codes() -> pl.Expr:
    """An empty list of reason codes per row."""
    return pl.lit([], dtype=REASON_CODES)


def codes_to_json(codes: Sequence[Mapping[str, Any] | str] | None) -> list[dict[str, Any]]:
    """Reason codes as a frame row holds them (JSON text) → as they are stored (JSON objects)."""
    return [Reason.from_json(c).to_json() for c in codes or ()]


def codes_from_json(stored: Sequence[Mapping[str, Any]] | None) -> list[str]:
    """Stored reason codes → as a frame row holds them (JSON text), for :data:`REASON_CODES`."""
    return [Reason.from_json(c).to_text() for c in stored or ()]
