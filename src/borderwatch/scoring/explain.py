"""Turn LightGBM's own TreeSHAP contributions into sentences a person can check against the declaration.

Features are grouped into families (all unit-value features, all of one party's history, ...). A family's
contribution is the sum of its features' SHAP values; the families that push a declaration's risk up the most
become sentences quoting the declaration's real values and the history they were compared with, e.g.
"unit value 83 % below the median for HS 610910 from CN (412 vs 2411 KRW/kg over 41 earlier declarations)".
Sentence texts are built column-wise with Polars; only the choice of the top families is per row (NumPy).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import polars as pl

from borderwatch.core.reasons import REASON_CODES, Reason, family_id
from borderwatch.features.history import ENTITY_KEYS, HIT_RATE_KEYS
from borderwatch.scoring.anomaly import unit_value_peers

MIN_CONTRIBUTION = 0.05  # log-odds; smaller pushes are not worth a sentence

LABELS: dict[str, str] = {
    "importer": "importer",
    "declarant": "declarant",
    "seller": "seller",
    "courier": "courier",
    "hs": "HS code",
    "importer_hs": "importer / HS code",
    "importer_seller": "importer / seller",
    "importer_route": "importer / origin / departure",
    "declarant_office": "declarant / office",
    "declarant_importer": "declarant / importer",
    "hs_origin": "HS code / origin",
    "office": "office",
    "hs4": "HS heading",
    "hs2": "HS chapter",
    "origin": "origin country",
    "departure": "departure country",
    "tax_type": "tax type",
    "process": "process / import type / use / payment",
    "value": "declared value",
    "hs_value": "HS code / declared value",
}
CATEGORY_LABELS: dict[str, tuple[str, str | None]] = {
    # categorical column -> (label, hit-rate family whose figures the sentence quotes)
    "office": ("office", "office"),
    "hs2": ("HS chapter", "hs2"),
    "hs4": ("HS heading", "hs4"),
    "hs_code": ("HS code", "hs"),
    "origin_country": ("origin country", "origin"),
    "departure_country": ("departure country", "departure"),
    "tax_type": ("tax type", "tax_type"),
    "process_type": ("process type", None),
    "import_type": ("import type", None),
    "import_use": ("import use", None),
    "payment_type": ("payment type", None),
    "transport_mode": ("mode of transport", None),
    "origin_indicator": ("origin indicator", None),
}
WEEKDAYS = ["", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _num(expr: pl.Expr) -> pl.Expr:
    return expr.round(0).cast(pl.Int64).cast(pl.String).fill_null("?")


def _pct(expr: pl.Expr) -> pl.Expr:
    return (expr * 100).round(0).cast(pl.Int64).cast(pl.String).fill_null("?")


def _ids(keys: tuple[str, ...]) -> pl.Expr:
    return pl.concat_str([_shown(k).fill_null("?") for k in keys], separator=" / ")


def _shown(column: str) -> pl.Expr:
    if column == "customs_value":  # a float key: shown to the cent, as on the invoice
        return pl.col(column).round(2).cast(pl.String)
    return pl.col(column).cast(pl.String)


def families(feature_names: list[str]) -> dict[str, list[int]]:
    """Family name → indexes (in ``feature_names``) of the features whose contributions it sums."""
    return dict(_families(tuple(feature_names)))


@lru_cache(maxsize=8)
def _families(feature_names: tuple[str, ...]) -> dict[str, list[int]]:
    owner: dict[str, str] = {}
    for name in ("unit_value_z", "unit_value_ratio", "unit_value_peers", "log_unit_value", "unit_value"):
        owner[name] = "unit_value"
    for name in ("tax_rate", "duty_at_stake", "log_duty"):
        owner[name] = "duty"
    owner |= {"customs_value": "value", "log_value": "value", "net_mass": "mass", "log_mass": "mass"}
    owner |= {"origin_differs": "route", "transit_count": "route", "day_of_week": "day"}
    for entity in ENTITY_KEYS:
        owner[f"{entity}_count"] = owner[f"{entity}_days_since"] = f"seen:{entity}"
    owner |= {
        "new_importer": "seen:importer",
        "new_importer_hs": "seen:importer_hs",
        "new_importer_route": "seen:importer_route",
        "new_declarant_importer": "seen:declarant_importer",
    }
    for key in HIT_RATE_KEYS:
        owner[f"{key}_hit_rate"] = owner[f"{key}_inspected"] = f"hits:{key}"
    for column in CATEGORY_LABELS:
        owner[column] = f"category:{column}"
    grouped: dict[str, list[int]] = {}
    for index, name in enumerate(feature_names):
        grouped.setdefault(owner.get(name, f"feature:{name}"), []).append(index)
    return grouped


_PLAIN_FAMILIES = {
    "unit_value": "unit value and its position among peers",
    "duty": "tax rate and duty at stake",
    "value": "customs value",
    "mass": "net mass",
    "route": "route (origin vs departure, transits)",
    "day": "day of the week",
}


def family_label(family: str) -> str:
    """What a person calls a feature family (``families``), for charts."""
    kind, _, key = family.partition(":")
    if kind == "hits":
        return f"{LABELS.get(key, key)}: earlier inspection results"
    if kind == "seen":
        return f"{LABELS.get(key, key)}: how often and how lately seen"
    if kind == "category":
        return CATEGORY_LABELS[key][0] if key in CATEGORY_LABELS else key
    if kind == "feature":
        return key.replace("_", " ")
    return _PLAIN_FAMILIES.get(family, family)


def family_contributions(
    contributions: np.ndarray[Any, np.dtype[np.float64]], feature_names: list[str]
) -> list[tuple[str, float]]:
    """One row of ``pred_contrib``'s feature columns (the bias column left out) as (family label, summed
    log-odds), the largest push either way first."""
    summed = [
        (family_label(name), float(contributions[indexes].sum()))
        for name, indexes in families(feature_names).items()
    ]
    return sorted(summed, key=lambda pair: -abs(pair[1]))


@lru_cache(maxsize=256)
def sentence(family: str) -> pl.Expr:
    """The sentence of one family, for every row, from the feature frame's real values (built once per
    family: building costs more than evaluating it on the few rows explained per request)."""
    currency = pl.col("currency").fill_null("")
    if family == "unit_value":
        where = unit_value_peers()
        ratio = pl.col("unit_value_ratio")
        direction = pl.when(ratio < 1).then(pl.lit("below")).otherwise(pl.lit("above"))
        return (
            pl.when(ratio.is_null())
            .then(
                pl.format(
                    "no earlier declarations of HS {} to compare the unit value with", pl.col("hs_code")
                )
            )
            .otherwise(
                pl.format(
                    "unit value {} % {} the median for {} ({} vs {} {}/kg over {} earlier declarations)",
                    _pct((ratio - 1).abs()),
                    direction,
                    where,
                    _num(pl.col("unit_value")),
                    _num(pl.col("unit_value_median_log").exp()),
                    currency,
                    _num(pl.col("unit_value_peers")),
                )
            )
        )
    if family == "duty":
        return pl.format(
            "duty at stake {} {} (value {} × tax rate {} %)",
            _num(pl.col("duty_at_stake")),
            currency,
            _num(pl.col("customs_value")),
            pl.col("tax_rate").round(2).cast(pl.String).fill_null("?"),
        )
    if family == "value":
        return pl.format("declared value {} {}", _num(pl.col("customs_value")), currency)
    if family == "mass":
        return pl.format("net mass {} kg", pl.col("net_mass").round(1).cast(pl.String).fill_null("?"))
    if family == "route":
        return (
            pl.when(pl.col("origin_differs") == 1)
            .then(
                pl.format(
                    "origin {} differs from the departure country {}",
                    pl.col("origin_country"),
                    pl.col("departure_country"),
                )
            )
            .when(pl.col("transit_count") > 0)
            .then(pl.format("goods transited {} ({})", pl.col("transit_countries"), pl.col("transit_count")))
            .otherwise(
                pl.format("shipped directly from the origin {}", pl.col("origin_country").fill_null("?"))
            )
        )
    if family == "day":
        return pl.format(
            "declared on a {}",
            pl.col("day_of_week")
            .cast(pl.Int64)
            .replace_strict(dict(enumerate(WEEKDAYS)), default="?", return_dtype=pl.String),
        )
    kind, _, name = family.partition(":")
    if kind == "seen":
        keys = ENTITY_KEYS[name]
        return (
            pl.when(pl.col(f"{name}_count") == 0)
            .then(pl.format("first declaration seen for {} {}", pl.lit(LABELS[name]), _ids(keys)))
            .otherwise(
                pl.format(
                    "{} {}: {} earlier declarations, the last {} days before",
                    pl.lit(LABELS[name]),
                    _ids(keys),
                    _num(pl.col(f"{name}_count")),
                    _num(pl.col(f"{name}_days_since")),
                )
            )
        )
    if kind == "hits":
        return _hits_sentence(name, LABELS[name], _ids(HIT_RATE_KEYS[name]))
    if kind == "category":
        label, hit_family = CATEGORY_LABELS[name]
        if hit_family is None:
            return pl.format("{} {}", pl.lit(label), pl.col(name).fill_null("missing"))
        return _hits_sentence(hit_family, label, pl.col(name).fill_null("missing"))
    return pl.format(
        "{} = {}", pl.lit(name.replace("_", " ")), pl.col(name).cast(pl.String).fill_null("missing")
    )


def _hits_sentence(key: str, label: str, ids: pl.Expr) -> pl.Expr:
    """A sentence about earlier inspections; null (no reason) when they all found nothing: "fraud found in 0
    of 6 earlier inspections" is no reason to suspect a declaration, whatever the model made of it."""
    inspected = pl.col(f"{key}_inspected")
    return (
        pl.when(inspected == 0)
        .then(pl.format("{} {}: no earlier inspection results", pl.lit(label), ids))
        .when(pl.col(f"{key}_frauds").fill_null(0) == 0)
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(
            pl.format(
                "{} {}: fraud found in {} of {} earlier inspections ({} %)",
                pl.lit(label),
                ids,
                _num(pl.col(f"{key}_frauds")),
                _num(inspected),
                _pct(pl.col(f"{key}_frauds") / inspected),
            )
        )
    )


PSEUDO_REASON_SPARE = 2


def model_reasons(
    features: pl.DataFrame,
    contributions: np.ndarray[Any, np.dtype[np.float64]],
    feature_names: list[str],
    *,
    top: int = 3,
) -> pl.Series:
    """Per row, up to ``top`` sentences for the feature families that raised the fraud score most."""
    return model_reasons_with_codes(features, contributions, feature_names, top=top)[0]


def model_reasons_with_codes(
    features: pl.DataFrame,
    contributions: np.ndarray[Any, np.dtype[np.float64]],
    feature_names: list[str],
    *,
    top: int = 3,
) -> tuple[pl.Series, pl.Series]:
    """:func:`model_reasons` and, one per sentence, its reason code (``core.reasons``): ``MODEL-<FAMILY>``
    with the family's summed contribution in log-odds."""
    grouped = families(feature_names)
    names = list(grouped)
    # contributions has one column per feature plus the bias last
    summed = np.column_stack([contributions[:, idx].sum(axis=1) for idx in grouped.values()])
    # a few families beyond ``top``: one whose sentence says nothing incriminating (None) yields its place
    order = np.argsort(-summed, axis=1, kind="stable")[:, : top + PSEUDO_REASON_SPARE]
    strength = np.take_along_axis(summed, order, axis=1)
    needed = sorted({names[i] for i in np.unique(order)})
    texts = features.select([sentence(name).alias(name) for name in needed])
    column_of = {name: position for position, name in enumerate(needed)}
    table = texts.to_numpy().astype(object) if needed else np.empty((features.height, 0), dtype=object)
    remap = np.array([column_of.get(name, -1) for name in names])
    picked = (
        np.take_along_axis(table, remap[order], axis=1) if needed else np.empty(order.shape, dtype=object)
    )
    keep = strength >= MIN_CONTRIBUTION
    ids = [family_id("model", name) for name in names]
    # lists built in Python: a frame of the ranked columns and its list concatenation cost more than the
    # sentences themselves on the few rows explained per request
    reasons: list[list[str]] = []
    codes: list[list[str]] = []
    for texts_of, keeps, families_of, strengths in zip(
        picked.tolist(), keep.tolist(), order.tolist(), strength.tolist(), strict=True
    ):
        shown = [
            (text, family, value)
            for text, kept, family, value in zip(texts_of, keeps, families_of, strengths, strict=True)
            if kept and text is not None
        ][:top]
        reasons.append([text for text, _, _ in shown])
        codes.append(
            [
                Reason(ids[family], "model", {"log_odds": round(value, 4)}).to_text()
                for _, family, value in shown
            ]
        )
    return (
        pl.Series("model_reasons", reasons, dtype=pl.List(pl.String)),
        pl.Series("model_codes", codes, dtype=REASON_CODES),
    )
