"""Train a risk model on inspection outcomes and score declarations with it.

    model = train_risk_model(declarations=decl, outcomes=out, seed=42)
    scores = model.score(declarations=new, history=decl, outcomes=out, profiles=load_profiles(path))

``score`` returns one row per declaration, riskiest first: lrn, score (0-100), fraud_probability,
expected_duty (fraud probability × duty at stake), forced_lane (from risk profiles), reasons (best first):
watchlist hits when given, revenue at risk when that placed it, the model's top contributions as sentences,
risk-profile hits, anomaly flags. score = 100 × ranking (``scoring.ranking``: fraud probability and revenue
at risk) + anomaly points × (1 − ranking) + risk-profile points + watchlist points, capped to 0-100.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from borderwatch.core.errors import BorderwatchError
from borderwatch.core.reasons import (
    NO_MODEL,
    REASON_CODES,
    REVENUE_AT_RISK,
    RISKIEST_ITEM,
    SCREENING_HIT,
    Reason,
    code,
    fixed_codes,
    no_codes,
)
from borderwatch.core.vocabulary import LANE_SEVERITY
from borderwatch.features.build import advance_snapshot, build_features, latest_outcomes, prepare_snapshot
from borderwatch.features.history import HistorySnapshot
from borderwatch.scoring.anomaly import anomaly_codes, detect_anomalies
from borderwatch.scoring.documents import DOCUMENT_FIELDS, document_evidence
from borderwatch.scoring.explain import model_reasons_with_codes
from borderwatch.scoring.manifest import MANIFEST_FIELDS, manifest_evidence
from borderwatch.scoring.model import (
    CATEGORICAL,
    Encoder,
    ModelParams,
    default_numeric,
    feature_matrix,
    fit_vocabulary,
)
from borderwatch.scoring.profiles import RiskProfile, evaluate_profiles
from borderwatch.scoring.ranking import RankingReference
from borderwatch.scoring.scorer import Scorer, risk_score
from borderwatch.scoring.vehicles import VEHICLE_FIELDS, vehicle_evidence

FORMAT_VERSION = 3
SCREENING_POINTS = 15.0
# What scoring makes of one check's findings: per declaration (in the order of ``lrns``), points, reasons,
# codes and the fields a risk profile tests (``scoring.documents``, ``.manifest``, ``.vehicles``).
EvidenceOf = Callable[[pl.Series, pl.DataFrame], pl.DataFrame]
SCORE_COLUMNS: dict[str, pl.DataType] = {
    "lrn": pl.String(),
    "score": pl.Float64(),
    "fraud_probability": pl.Float64(),
    "expected_duty": pl.Float64(),
    "forced_lane": pl.String(),
    "reasons": pl.List(pl.String()),
    # one per reason, same order: its stable id, family and figures (``core.reasons``)
    "reason_codes": REASON_CODES,
}
# The parts of the reasons, in the order they are listed (best first); each has its codes in ``<part>_codes``.
REASON_PARTS = (
    "_manifest",
    "_documents",
    "_vehicles",
    "_screening",
    "_revenue",
    "_model",
    "_rules",
    "_anomalies",
)


class ScoringError(BorderwatchError):
    """Training or scoring cannot proceed (no labelled rows, an unreadable model file, ...)."""


@dataclass(frozen=True)
class ExplainPolicy:
    """Which declarations get the model's own reasons (TreeSHAP sentences: about a millisecond per goods item,
    the rest of scoring microseconds) and how many.

    Only each declaration's riskiest goods item (the one whose score and reasons it takes) is explained, and
    of those: with ``top_items=N`` only the N riskiest goods items by ranking (a worklist's first page); with
    ``min_score=S`` only declarations scoring at least S or forced to yellow or red (:meth:`explains` tells
    which, e.g. to store the others' reasons as still to complete). ``enabled=False`` (:data:`NO_EXPLANATION`)
    explains none: reasons then hold the other evidence only, for re-scoring where only the ranking counts.
    """

    enabled: bool = True
    top_reasons: int = 3
    top_items: int | None = None
    min_score: float | None = None

    def explains(self, scores: pl.DataFrame) -> pl.Series:
        """Per row of ``RiskModel.score`` output under this policy's ``min_score``: whether its reasons
        include the model's sentences (the same rule as the scorer's; ``top_items`` is not a property of a
        row)."""
        if not self.enabled:
            return pl.Series([False] * scores.height, dtype=pl.Boolean)
        if self.min_score is None:
            return pl.Series([True] * scores.height, dtype=pl.Boolean)
        return scores.select(
            (pl.col("score") >= self.min_score)
            | pl.col("forced_lane").is_in(["yellow", "red"]).fill_null(False)
        ).to_series()


NO_EXPLANATION = ExplainPolicy(enabled=False)
EXPLAIN_ALL = ExplainPolicy()


def with_screening_score(features: pl.DataFrame, hits: pl.DataFrame | None) -> pl.DataFrame:
    """``features`` with ``screening_score``, the best watchlist match of each declaration's parties (0 for
    none): what a risk profile tests to hold a declaration with a strong sanctions hit."""
    if hits is None or hits.height == 0:
        return features.with_columns(pl.lit(0.0).alias("screening_score"))
    best = hits.group_by("lrn").agg(pl.col("score").max().alias("screening_score"))
    return features.join(best, on="lrn", how="left", maintain_order="left").with_columns(
        pl.col("screening_score").fill_null(0.0)
    )


def _side_evidence(
    features: pl.DataFrame, evidence: Evidence
) -> tuple[pl.DataFrame, dict[str, tuple[pl.Series, pl.Series, pl.Series]]]:
    """``features`` with the fields a risk profile tests of what the manifest reconciliation, the document
    check and the vehicle check found (each when it found anything), and per kind of evidence its reasons,
    their codes and its points."""
    manifest = evidence.manifest_discrepancies
    kinds: tuple[tuple[str, str, tuple[str, ...], EvidenceOf, pl.DataFrame | None], ...] = (
        # (part of the reasons, column prefix, profile fields, evidence function, what the check found)
        (
            "_manifest",
            "manifest",
            MANIFEST_FIELDS,
            manifest_evidence,
            None if manifest is None else manifest.filter(pl.col("lrn").is_not_null()),
        ),
        ("_documents", "document", DOCUMENT_FIELDS, document_evidence, evidence.document_findings),
        ("_vehicles", "vehicle", VEHICLE_FIELDS, vehicle_evidence, evidence.vehicle_alerts),
    )
    found: dict[str, tuple[pl.Series, pl.Series, pl.Series]] = {}
    for part, prefix, fields, evidence_of, rows in kinds:
        if rows is None or rows.height == 0:
            continue
        frame = evidence_of(features["lrn"], rows)
        features = features.with_columns(frame.select(*fields))
        found[part] = (frame[f"{prefix}_reasons"], frame[f"{prefix}_codes"], frame[f"{prefix}_points"])
    return features, found


class RiskModel:
    """A trained fraud model and evaded-duty model with what they need to score new declarations the same way.

    ``version`` is derived from the trained trees, so the same data and seed give the same version.
    """

    def __init__(
        self,
        *,
        fraud_booster: lgb.Booster,
        duty_booster: lgb.Booster,
        vocabulary: dict[str, dict[str, int]],
        numeric: list[str],
        reference: RankingReference,
        params: ModelParams,
        seed: int,
        trained_from: dt.date | None,
        trained_until: dt.date | None,
        metrics: dict[str, float],
    ) -> None:
        self.fraud_booster = fraud_booster
        self.duty_booster = duty_booster
        self.vocabulary = vocabulary
        self.numeric = numeric
        self.reference = reference
        self.params = params
        self.seed = seed
        self.trained_from = trained_from
        self.trained_until = trained_until
        self.metrics = metrics
        self.encoder = Encoder(vocabulary, numeric)
        self.scorer = Scorer(
            fraud=fraud_booster, duty=duty_booster, reference=reference, revenue_share=params.revenue_share
        )
        digest = hashlib.sha256(
            (fraud_booster.model_to_string() + duty_booster.model_to_string()).encode()
        ).hexdigest()
        self.version = f"{(trained_until or dt.date.min).strftime('%Y%m%d')}-{digest[:10]}"

    @property
    def feature_names(self) -> list[str]:
        return [*self.numeric, *self.vocabulary]

    def features(
        self,
        *,
        declarations: pl.DataFrame,
        history: pl.DataFrame,
        outcomes: pl.DataFrame,
        snapshot: HistorySnapshot | None = None,
    ) -> pl.DataFrame:
        """The time-safe feature frame the model scores (same rows and order as ``declarations``)."""
        return build_features(
            declarations=declarations, history=history, outcomes=outcomes, snapshot=snapshot
        )

    @staticmethod
    def prepare(
        *, history: pl.DataFrame, outcomes: pl.DataFrame, as_of: dt.date | None = None
    ) -> HistorySnapshot:
        """History aggregated once, up to ``as_of`` (default: its latest day), for fast repeated scoring of
        declarations dated after it (pass it as ``score(..., snapshot=...)``): a call then pays only for the
        days after the snapshot, over any number of days, with the features of the full computation.
        Earlier-dated declarations fall back to the full computation."""
        return prepare_snapshot(history=history, outcomes=outcomes, as_of=as_of)

    @staticmethod
    def advance(
        snapshot: HistorySnapshot, *, history: pl.DataFrame, outcomes: pl.DataFrame, until: dt.date
    ) -> HistorySnapshot:
        """``snapshot`` moved forward to ``until`` at the cost of the days added (the same as ``prepare`` up
        to ``until``); see ``features.build.advance_snapshot``."""
        return advance_snapshot(snapshot, history=history, outcomes=outcomes, until=until)

    def predict(
        self, features: pl.DataFrame, *, matrix: np.ndarray[Any, np.dtype[np.float64]] | None = None
    ) -> pl.DataFrame:
        """Model outputs per feature row: fraud_probability, revenue_position (0..1), the blended ``ranking``
        (``scoring.ranking``) and ``revenue_led`` (placed by its revenue at risk rather than its fraud
        probability)."""
        matrix = self.encoder.matrix(features) if matrix is None else matrix
        ranked = self.scorer.rank(matrix, duty_at_stake=features["duty_at_stake"].cast(pl.Float64).to_numpy())
        probability, positions = ranked.probability, ranked.positions
        return pl.DataFrame(
            {
                "fraud_probability": probability,
                "revenue_position": positions.revenue,
                "ranking": positions.ranking,
                "revenue_led": positions.revenue_led,
            }
        )

    def score(
        self,
        *,
        declarations: pl.DataFrame,
        history: pl.DataFrame,
        outcomes: pl.DataFrame,
        profiles: Sequence[RiskProfile] = (),
        explain: ExplainPolicy = EXPLAIN_ALL,
        snapshot: HistorySnapshot | None = None,
        screening_hits: pl.DataFrame | None = None,
        document_findings: pl.DataFrame | None = None,
        manifest_discrepancies: pl.DataFrame | None = None,
        vehicle_alerts: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        """Scores ``declarations`` (one row per lrn) from history and outcomes dated before each one.

        ``explain`` says which declarations get the model's own reasons (:class:`ExplainPolicy`; all by
        default, none with :data:`NO_EXPLANATION`).
        """
        if declarations.height == 0:
            return pl.DataFrame(schema=SCORE_COLUMNS)
        features = self.features(
            declarations=declarations, history=history, outcomes=outcomes, snapshot=snapshot
        )
        return self.score_features(
            features,
            profiles=profiles,
            explain=explain,
            screening_hits=screening_hits,
            document_findings=document_findings,
            manifest_discrepancies=manifest_discrepancies,
            vehicle_alerts=vehicle_alerts,
        )

    def score_features(
        self,
        features: pl.DataFrame,
        *,
        profiles: Sequence[RiskProfile] = (),
        explain: ExplainPolicy = EXPLAIN_ALL,
        screening_hits: pl.DataFrame | None = None,
        document_findings: pl.DataFrame | None = None,
        manifest_discrepancies: pl.DataFrame | None = None,
        vehicle_alerts: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        """``score`` on an already built feature frame (see :meth:`features`).

        ``screening_hits``: watchlist hits of the declarations' parties (``screening.service.HIT_SCHEMA``
        rows, e.g. from ``screen_declarations``); each declaration with hits gets up to
        ``SCREENING_POINTS`` × the best match score and one reason per hit. ``document_findings``: what a
        :class:`~borderwatch.scoring.documents.DocumentCheck` found of their documents
        (``scoring.documents``: points, one reason per finding, fields a risk profile may test).
        ``manifest_discrepancies``: what reconciling the declarations with the carriers' manifests found
        (``features.reconcile.DISCREPANCY_SCHEMA`` rows; ``scoring.manifest``: the same three).
        ``vehicle_alerts``: what a :class:`~borderwatch.scoring.vehicles.VehicleCheck` found of their
        vehicles (``scoring.vehicles``: the same three)."""
        features, matrix, items = self._score_items(
            features,
            Evidence(
                profiles=profiles,
                screening_hits=screening_hits,
                document_findings=document_findings,
                manifest_discrepancies=manifest_discrepancies,
                vehicle_alerts=vehicle_alerts,
            ),
        )
        if explain.enabled:
            items = pl.concat([items, self._explain(features, matrix, items, explain)], how="horizontal")
        return _per_declaration(items, features)

    def _score_items(
        self, features: pl.DataFrame, evidence: Evidence
    ) -> tuple[pl.DataFrame, np.ndarray[Any, np.dtype[np.float64]], pl.DataFrame]:
        """Per goods item: the features with the evidence's fields, their matrix, and the scored items (score,
        ranking, points, forced lane, the reasons and codes of each part) before the model's reasons."""
        matrix = self.encoder.matrix(features)
        predicted = self.predict(features, matrix=matrix)
        features, items = _evidence_items(features, evidence, predicted)
        return features, matrix, items

    def _explain(
        self,
        features: pl.DataFrame,
        matrix: np.ndarray[Any, np.dtype[np.float64]],
        items: pl.DataFrame,
        policy: ExplainPolicy,
    ) -> pl.DataFrame:
        """TreeSHAP sentences for the goods items whose reasons are returned: each declaration's riskiest item
        (:func:`riskiest_items`), narrowed by ``policy``; the other items get none."""
        chosen = riskiest_items(items)
        if policy.top_items is not None and policy.top_items < features.height:
            ranking = items["ranking"].to_numpy()
            chosen = np.intersect1d(chosen, np.argsort(-ranking, kind="stable")[: max(policy.top_items, 0)])
        if policy.min_score is not None:
            wanted = (
                items.select(
                    (pl.col("score").max().over("lrn") >= policy.min_score)
                    | (pl.col("_lane").max().over("lrn") >= LANE_SEVERITY["yellow"])
                )
                .to_series()
                .to_numpy()
            )
            chosen = chosen[wanted[chosen]]
        chosen = np.sort(chosen)
        reasons: list[list[str]] = [[] for _ in range(features.height)]
        codes: list[list[str]] = [[] for _ in range(features.height)]
        if chosen.size:
            contributions = self.contributions(matrix, chosen)
            sentences, sentence_codes = model_reasons_with_codes(
                features[chosen], contributions, self.feature_names, top=policy.top_reasons
            )
            for position, row, row_codes in zip(
                chosen.tolist(), sentences.to_list(), sentence_codes.to_list(), strict=True
            ):
                reasons[position], codes[position] = row, row_codes
        return pl.DataFrame(
            {"_model": reasons, "_model_codes": codes},
            schema={"_model": pl.List(pl.String), "_model_codes": REASON_CODES},
        )

    def contributions(
        self, matrix: np.ndarray[Any, np.dtype[np.float64]], rows: np.ndarray[Any, np.dtype[np.int64]]
    ) -> np.ndarray[Any, np.dtype[np.float64]]:
        """The fraud model's TreeSHAP contributions of ``rows`` of ``matrix`` (one column per feature, the
        bias last): the one place the model's reasons and its explanation chart come from."""
        return self.scorer.contributions(matrix[rows])

    def explain_riskiest(
        self, features: pl.DataFrame, *, profiles: Sequence[RiskProfile] = ()
    ) -> tuple[np.ndarray[Any, np.dtype[np.float64]], float]:
        """TreeSHAP contributions (bias last) and fraud probability of the goods item whose score and reasons
        a one-declaration ``features`` takes (:func:`riskiest_items`, as :meth:`score_features` with
        ``profiles`` chooses it)."""
        features, matrix, items = self._score_items(features, Evidence(profiles=profiles))
        row = riskiest_items(items)[:1]
        return self.contributions(matrix, row)[0], float(items["fraud_probability"][int(row[0])])

    def save(self, path: Path) -> None:
        """Writes the model as one JSON file (no pickle: safe to load from a shared folder)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "format": FORMAT_VERSION,
            "version": self.version,
            "seed": self.seed,
            "trained_from": self.trained_from.isoformat() if self.trained_from else None,
            "trained_until": self.trained_until.isoformat() if self.trained_until else None,
            "metrics": self.metrics,
            "params": dataclasses.asdict(self.params),
            "numeric": self.numeric,
            "vocabulary": self.vocabulary,
            "reference": self.reference.to_json(),
            "fraud_booster": self.fraud_booster.model_to_string(),
            "duty_booster": self.duty_booster.model_to_string(),
        }
        path.write_text(json.dumps(document), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> RiskModel:
        try:
            document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ScoringError(f"cannot read the model file {path}: {error}") from error
        if document.get("format") != FORMAT_VERSION:
            raise ScoringError(f"{path} is not a borderwatch risk model of format {FORMAT_VERSION}")

        def day(value: str | None) -> dt.date | None:
            return dt.date.fromisoformat(value) if value else None

        return cls(
            fraud_booster=lgb.Booster(model_str=document["fraud_booster"]),
            duty_booster=lgb.Booster(model_str=document["duty_booster"]),
            vocabulary=document["vocabulary"],
            numeric=document["numeric"],
            reference=RankingReference.from_json(document["reference"]),
            params=ModelParams(**document["params"]),
            seed=int(document["seed"]),
            trained_from=day(document["trained_from"]),
            trained_until=day(document["trained_until"]),
            metrics={k: float(v) for k, v in document["metrics"].items()},
        )


NO_MODEL_REASON = (
    "no active model: scored by the risk profiles, watchlist screening and anomaly flags only "
    "(a supervisor promotes a model with 'borderwatch models promote')"
)


def rules_only_scores(
    features: pl.DataFrame,
    *,
    profiles: Sequence[RiskProfile] = (),
    screening_hits: pl.DataFrame | None = None,
    vehicle_alerts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``RiskModel.score_features`` output (``SCORE_COLUMNS``) when no model is active: the score holds
    the anomaly, risk-profile, watchlist and vehicle-alert points alone (the model's ranking counted as 0),
    the fraud probability is 0, and the first reason says so. Forced lanes come from the profiles as with a
    model."""
    if features.height == 0:
        return pl.DataFrame(schema=SCORE_COLUMNS)
    zero = pl.Series([0.0] * features.height, dtype=pl.Float64)
    predicted = pl.DataFrame({"fraud_probability": zero, "ranking": zero})
    evidence = Evidence(profiles=profiles, screening_hits=screening_hits, vehicle_alerts=vehicle_alerts)
    features, items = _evidence_items(features, evidence, predicted)
    return _per_declaration(items, features).with_columns(
        pl.concat_list(pl.lit([NO_MODEL_REASON], dtype=pl.List(pl.String)), "reasons").alias("reasons"),
        pl.concat_list(code(NO_MODEL, "no_model"), "reason_codes").alias("reason_codes"),
    )


@dataclass(frozen=True)
class Evidence:
    """What scores a declaration besides the model: risk profiles, and what the checks found (see
    :meth:`RiskModel.score_features` for each)."""

    profiles: Sequence[RiskProfile] = ()
    screening_hits: pl.DataFrame | None = None
    document_findings: pl.DataFrame | None = None
    manifest_discrepancies: pl.DataFrame | None = None
    vehicle_alerts: pl.DataFrame | None = None


def _evidence_items(
    features: pl.DataFrame, evidence: Evidence, predicted: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per goods item, from the model's ``predicted`` fraud probability and ranking (zeros without a model):
    the features with the evidence's fields, and the scored items (score, expected duty, forced lane, and
    the reasons and reason codes of each part of :data:`REASON_PARTS` that holds any)."""
    features, side = _side_evidence(features, evidence)
    features = with_screening_score(features, evidence.screening_hits)
    anomalies = detect_anomalies(features)
    rules = evaluate_profiles(features, evidence.profiles)
    columns: dict[str, pl.Series] = {
        "lrn": features["lrn"],
        "duty_at_stake": features["duty_at_stake"],
        "fraud_probability": predicted["fraud_probability"],
        "ranking": predicted["ranking"],
        "anomaly_points": anomalies["anomaly_points"],
        "rule_points": rules["rule_points"],
        "forced_lane": rules["forced_lane"],
        "_anomalies": anomalies["anomaly_reasons"],
        "_anomalies_codes": anomaly_codes(anomalies["anomaly_flags"]),
    }
    # parts of the reasons that hold nothing for any row (no revenue-led row, no rule hit, no watchlist
    # hit) are left out: list columns cost per row even when empty
    if "revenue_led" in predicted.columns:
        revenue = _revenue_reasons(predicted, features["duty_at_stake"])
        if revenue is not None:
            columns["_revenue"], columns["_revenue_codes"] = revenue
    if evidence.profiles and rules["rule_hits"].list.len().sum():
        columns["_rules"] = rule_sentences(rules["rule_hits"], evidence.profiles)
        columns["_rules_codes"] = rule_codes(rules["rule_hits"], evidence.profiles)
    points = pl.lit(0.0)
    hits = evidence.screening_hits
    if hits is not None and hits.height:
        screened = screening_evidence(features.select("lrn"), hits)
        columns["_screening"] = screened["screening_reasons"]
        columns["_screening_codes"] = screened["screening_codes"]
        columns["_screening_points"] = screened["screening_points"]
        points = pl.col("_screening_points")
    for name, (sentences, reason_codes, part_points) in side.items():
        columns[name] = sentences
        columns[f"{name}_codes"] = reason_codes
        columns[f"{name}_points"] = part_points
        points = points + pl.col(f"{name}_points")
    items = pl.DataFrame(columns).with_columns(
        risk_score(pl.col("ranking"), pl.col("anomaly_points"), pl.col("rule_points"), points).alias("score"),
        (pl.col("fraud_probability") * pl.col("duty_at_stake").fill_null(0)).alias("expected_duty"),
        pl.col("forced_lane").replace_strict(LANE_SEVERITY, default=0, return_dtype=pl.Int8).alias("_lane"),
    )
    return features, items


def _per_declaration(items: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
    """``SCORE_COLUMNS`` from scored goods items: the reasons and codes of their parts listed best first; a
    declaration of several goods items takes its riskiest item's score and reasons (:data:`RISKIEST_FIRST`),
    the first reason naming that item, the sum of their expected duty and the most severe forced lane."""
    parts = [name for name in REASON_PARTS if name in items.columns]
    reasons = pl.concat_list(parts).alias("reasons")
    codes = pl.concat_list([f"{name}_codes" for name in parts]).alias("reason_codes")
    if items["lrn"].n_unique() == items.height:  # one goods item each: nothing to combine
        listed = {"reasons": reasons, "reason_codes": codes}
        scores = items.select(*[listed.get(name, pl.col(name)) for name in SCORE_COLUMNS])
        if scores.height == 1:  # live scoring: nothing to order (a sort costs a query even on one row)
            return scores
        return scores.sort("score", descending=True, maintain_order=True)
    items = items.with_columns(reasons, codes, features["item_no"].alias("_item"))
    several = pl.col("_items") > 1  # a declaration of one item needs no sentence naming it
    named = pl.format("goods item {} of {} scores highest", pl.col("_item"), pl.col("_items"))
    named_code = code(RISKIEST_ITEM, "item", item=pl.col("_item"), items=pl.col("_items"))
    return (
        items.sort(RISKIEST_FIRST, descending=True, maintain_order=True)
        .group_by("lrn", maintain_order=True)
        .agg(
            pl.col("score").first(),
            pl.col("fraud_probability").first(),
            pl.col("expected_duty").sum(),
            pl.col("_lane").max(),
            pl.col("reasons").first(),
            pl.col("reason_codes").first(),
            pl.col("_item").first(),
            pl.len().alias("_items"),
        )
        .with_columns(
            pl.col("_lane")
            .replace_strict({rank: lane for lane, rank in LANE_SEVERITY.items()}, default=None)
            .cast(pl.String)
            .alias("forced_lane"),
            pl.when(several).then(pl.concat_list(named, "reasons")).otherwise("reasons").alias("reasons"),
            pl.when(several)
            .then(pl.concat_list(named_code, "reason_codes"))
            .otherwise("reason_codes")
            .alias("reason_codes"),
        )
        .select(list(SCORE_COLUMNS))
    )


# The order that picks a declaration's riskiest goods item, whose score and reasons it takes (first on ties).
RISKIEST_FIRST = ["score", "ranking"]


def riskiest_items(items: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Row positions in ``items`` (one row per goods item: lrn, score, ranking) of each declaration's riskiest
    goods item, in the order of the declarations' first rows: the item whose score and reasons
    :meth:`RiskModel.score_features` reports, and the one the model's reasons and chart explain."""
    if items["lrn"].n_unique() == items.height:  # one goods item each (live scoring): every row
        return np.arange(items.height, dtype=np.int64)
    return (
        items.select("lrn", *RISKIEST_FIRST)
        .with_row_index("_row")
        .sort(RISKIEST_FIRST, descending=True, maintain_order=True)
        .unique("lrn", keep="first", maintain_order=True)["_row"]
        .to_numpy()
        .astype(np.int64)
    )


REVENUE_REASON_POSITION = 0.9


def _revenue_reasons(predicted: pl.DataFrame, duty_at_stake: pl.Series) -> tuple[pl.Series, pl.Series] | None:
    """A sentence and its code for the declarations placed by their revenue at risk (``scoring.ranking``)
    rather than by their fraud probability, when that revenue is in the training population's top 10 %;
    None when no declaration has one."""
    shown = pl.col("revenue_led") & (pl.col("revenue_position") >= REVENUE_REASON_POSITION)
    if not predicted.select(shown.any()).item():
        return None
    frame = predicted.select("fraud_probability", "revenue_position", "revenue_led").with_columns(
        duty_at_stake.cast(pl.Float64).fill_null(0).alias("duty")
    )
    probability = (pl.col("fraud_probability") * 100).round(0).cast(pl.Int64)
    duty = pl.col("duty").round(0).cast(pl.Int64)
    expected = (pl.col("fraud_probability") * pl.col("duty")).round(0).cast(pl.Int64)
    position = (pl.col("revenue_position") * 100).floor().cast(pl.Int64)
    sentence = pl.format(
        "revenue at risk: P(fraud) {} % × duty at stake {} ≈ {} expected evaded duty, "
        "higher than {} % of the declarations the model was trained on",
        probability,
        duty,
        expected,
        position,
    )
    figures = code(
        REVENUE_AT_RISK,
        "revenue",
        fraud_percent=probability,
        duty_at_stake=duty,
        expected_duty=expected,
        revenue_percentile=position,
    )
    listed = frame.select(
        pl.when(shown).then(pl.concat_list(sentence)).otherwise(pl.lit([], dtype=pl.List(pl.String))),
        pl.when(shown).then(pl.concat_list(figures)).otherwise(no_codes()).alias("_revenue_codes"),
    )
    return listed.to_series(0).alias("_revenue"), listed.to_series(1)


def screening_evidence(lrns: pl.DataFrame, hits: pl.DataFrame) -> pl.DataFrame:
    """Per row of ``lrns``: points, reason sentences and their codes (``SCREENING-HIT`` with the match
    score, the list and the party's role) from watchlist hits of the declaration's parties."""
    sentence = pl.format(
        "screening: {} {} resembles {} on {} (match {})",
        pl.col("role"),
        pl.col("party_name"),
        pl.col("name"),
        pl.col("list"),
        pl.col("score").round(2).cast(pl.String),
    )
    figures = code(
        SCREENING_HIT, "screening", score=pl.col("score").round(2), list=pl.col("list"), role=pl.col("role")
    )
    per_lrn = (
        hits.sort("score", descending=True)
        .with_columns(sentence.alias("_sentence"), figures.alias("_code"))
        .with_columns(pl.col("_sentence").is_first_distinct().over("lrn").alias("_first"))
        .group_by("lrn", maintain_order=True)
        .agg(
            (pl.col("score").max() * SCREENING_POINTS).alias("screening_points"),
            pl.col("_sentence").filter("_first").alias("screening_reasons"),
            pl.col("_code").filter("_first").alias("screening_codes"),
        )
    )
    return lrns.join(per_lrn, on="lrn", how="left", maintain_order="left").select(
        pl.col("screening_points").fill_null(0.0),
        pl.col("screening_reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.col("screening_codes").fill_null(no_codes()),
    )


def rule_sentences(hits: pl.Series, profiles: Sequence[RiskProfile]) -> pl.Series:
    """The sentence of each risk profile hit (``rule_hits``: profile ids): its id, name, points and lane."""
    text = {
        p.id: f"risk profile {p.id} ({p.name}): "
        + (f"{p.effect.add_points:+g} points" if p.effect.add_points else "")
        + (f"{', ' if p.effect.add_points else ''}lane {p.effect.force_lane}" if p.effect.force_lane else "")
        for p in profiles
    }
    return hits.list.eval(pl.element().replace_strict(text, return_dtype=pl.String)).alias("rule_reasons")


def rule_codes(hits: pl.Series, profiles: Sequence[RiskProfile]) -> pl.Series:
    """The reason code of each risk profile hit: the profile's id, with its points and forced lane ("" for
    none), one per :func:`rule_sentences` sentence."""
    codes = {
        p.id: Reason(p.id, "profile", {"points": p.effect.add_points, "lane": p.effect.force_lane or ""})
        for p in profiles
    }
    return hits.list.eval(fixed_codes(pl.element(), codes)).alias("rule_codes")


def _fit(
    rows: pl.DataFrame, *, params: ModelParams, seed: int, metrics: dict[str, float] | None = None
) -> RiskModel:
    """A model fitted on labelled ``rows`` (with ``fraud`` and ``weight``), trained over their days."""
    numeric = default_numeric()
    vocabulary = fit_vocabulary(rows, CATEGORICAL)
    scorer = Scorer.fit(
        feature_matrix(rows, vocabulary, numeric),
        fraud=rows["fraud"].to_numpy(),
        duty_at_stake=rows["duty_at_stake"].cast(pl.Float64).to_numpy(),
        weight=rows["weight"].to_numpy(),
        names=[*numeric, *vocabulary],
        categorical=list(vocabulary),
        params=params,
        seed=seed,
    )
    first, last = rows["declared_on"].min(), rows["declared_on"].max()
    return RiskModel(
        fraud_booster=scorer.fraud,
        duty_booster=scorer.duty,
        vocabulary=vocabulary,
        numeric=numeric,
        reference=scorer.reference,
        params=params,
        seed=seed,
        trained_from=first if isinstance(first, dt.date) else None,
        trained_until=last if isinstance(last, dt.date) else None,
        metrics=metrics or {},
    )


def ranking_metrics(labels: np.ndarray[Any, Any], ranking: np.ndarray[Any, Any]) -> dict[str, float]:
    """AUC and precision at 5 % / 10 % of a ranking (for the registry; evaluate has the full set)."""
    from sklearn.metrics import roc_auc_score

    order = np.argsort(-ranking, kind="stable")
    result: dict[str, float] = {}
    if 0 < labels.sum() < len(labels):
        result["auc"] = float(roc_auc_score(labels, ranking))
    for rate in (5, 10):
        k = max(1, round(len(labels) * rate / 100))
        result[f"precision_at_{rate}"] = float(labels[order[:k]].mean())
    return result


def train_risk_model(
    *,
    declarations: pl.DataFrame,
    outcomes: pl.DataFrame,
    weights: pl.DataFrame | None = None,
    profiles: Sequence[RiskProfile] = (),
    seed: int = 42,
    params: ModelParams | None = None,
    holdout: float = 0.0,
) -> RiskModel:
    """Trains on the declarations that have an outcome; ``weights`` (lrn, weight): optional sample weights.

    Features of each training row use only declarations and outcomes dated before it, exactly as at scoring
    time. With ``holdout`` > 0 the latest fraction of days is first held out to measure AUC and precision
    (stored in ``metrics``), then the final model is trained on everything.
    """
    del profiles  # rules act at scoring time; accepted so that every caller can pass them the same way
    params = params or ModelParams()
    features = build_features(
        declarations=declarations,
        history=declarations,
        outcomes=outcomes,
        outcome_lag_days=params.outcome_lag_days,
        seed=seed,
    )
    labels = latest_outcomes(outcomes).select("lrn", pl.col("fraud").cast(pl.Int8).clip(0, 1))
    rows = features.join(labels, on="lrn", how="inner", maintain_order="left")
    if rows.height == 0 or rows["fraud"].n_unique() < 2:
        raise ScoringError("training needs declarations with outcomes of both kinds (fraud and no fraud)")
    if weights is not None:
        rows = rows.join(
            weights.select("lrn", pl.col("weight").cast(pl.Float64)),
            on="lrn",
            how="left",
            maintain_order="left",
        ).with_columns(pl.col("weight").fill_null(1.0))
    else:
        rows = rows.with_columns(pl.lit(1.0).alias("weight"))
    metrics: dict[str, float] = {
        "training_rows": float(rows.height),
        "fraud_rate": float(rows["fraud"].cast(pl.Float64).to_numpy().mean()),
    }
    if holdout > 0:
        days = rows["declared_on"].unique().sort()
        cut = days[int(len(days) * (1 - holdout))]
        early, late = rows.filter(pl.col("declared_on") < cut), rows.filter(pl.col("declared_on") >= cut)
        if early["fraud"].n_unique() == 2 and late.height:
            trial = _fit(early, params=params, seed=seed)
            # The held-out days see only outcomes from before the cut, as in production.
            late_features = build_features(
                declarations=late,
                history=declarations,
                outcomes=outcomes.filter(pl.col("recorded_on") < cut),
            )
            ranking = trial.predict(late_features)["ranking"].to_numpy()
            for name, value in ranking_metrics(late["fraud"].to_numpy(), ranking).items():
                metrics[f"holdout_{name}"] = value
            metrics["holdout_rows"] = float(late.height)
    return _fit(rows, params=params, seed=seed, metrics=metrics)
