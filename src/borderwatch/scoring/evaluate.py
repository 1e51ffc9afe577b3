"""Evaluation harness: train on some files, score a later file using none of its outcomes, compare with a
plain gradient-boosting baseline at the inspection rates agencies work with.

At rate r the top k = round(N·r/100) test declarations are selected; precision = frauds among them / k;
recall = frauds among them / all frauds; duty_recall = duty at stake (value × tax rate / 100) of the frauds
selected / that of all frauds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.scoring.model import ModelParams
from borderwatch.scoring.profiles import RiskProfile
from borderwatch.scoring.risk_model import NO_EXPLANATION, RiskModel, train_risk_model

RATES = [1, 2, 5, 10, 20]
BASELINE_DROP = {"lrn", "declared_on", "agency", "item_no", "currency"}


@dataclass
class Evaluation:
    """The JSON report (exactly ``{"rates": [...], "models": {name: M}}``) and the data behind the plot."""

    report: dict[str, Any]
    curves: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = field(default_factory=dict)
    model: RiskModel | None = None
    scores: pl.DataFrame | None = None
    test_rows: int = 0
    test_frauds: int = 0


def ranking_report(
    labels: np.ndarray[Any, Any], ranking: np.ndarray[Any, Any], duty: np.ndarray[Any, Any]
) -> dict[str, Any]:
    """``{"auc": float, "at": {"1": {"precision", "recall", "duty_recall"}, ...}}`` for one ranking."""
    from sklearn.metrics import roc_auc_score

    labels = labels.astype(np.int64)
    duty = np.nan_to_num(duty.astype(np.float64), nan=0.0)
    order = np.argsort(-ranking, kind="stable")
    frauds = max(int(labels.sum()), 1)
    fraud_duty = float((duty * labels).sum()) or 1.0
    at: dict[str, dict[str, float]] = {}
    for rate in RATES:
        k = round(len(labels) * rate / 100)
        chosen = order[:k]
        hits = labels[chosen]
        at[str(rate)] = {
            "precision": float(hits.mean()) if k else 0.0,
            "recall": float(hits.sum() / frauds),
            "duty_recall": float((duty[chosen] * hits).sum() / fraud_duty),
        }
    auc = float(roc_auc_score(labels, ranking)) if 0 < labels.sum() < len(labels) else float("nan")
    return {"auc": auc, "at": at}


def _baseline_matrix(frame: pl.DataFrame, codes: dict[str, dict[str, int]]) -> np.ndarray[Any, Any]:
    columns = []
    for name in frame.columns:
        if name in codes:
            mapped = (
                frame[name].cast(pl.String).replace_strict(codes[name], default=None, return_dtype=pl.Float64)
            )
            columns.append(mapped.to_numpy())
        else:
            columns.append(frame[name].cast(pl.Float64).to_numpy())
    return np.column_stack(columns).astype(np.float64)


def train_baseline(
    declarations: pl.DataFrame, labels: np.ndarray[Any, Any], *, seed: int
) -> tuple[lgb.Booster, dict[str, dict[str, int]], list[str]]:
    """Plain gradient boosting on the raw columns, strings label-encoded (LightGBM with default settings)."""
    raw = declarations.drop([c for c in declarations.columns if c in BASELINE_DROP])
    raw = raw.select([c for c in raw.columns if raw[c].null_count() < raw.height])
    codes = {
        name: {value: code for code, value in enumerate(sorted(raw[name].drop_nulls().unique().to_list()))}
        for name, dtype in raw.schema.items()
        if dtype == pl.String
    }
    params = {"objective": "binary", "seed": seed, "deterministic": True, "num_threads": 1, "verbose": -1}
    dataset = lgb.Dataset(_baseline_matrix(raw, codes), label=labels, feature_name=raw.columns)
    return lgb.train(params, dataset, num_boost_round=100), codes, raw.columns


def graded_test_period(test_declarations: pl.DataFrame, test_outcomes: pl.DataFrame) -> pl.DataFrame:
    """One row per test declaration with an outcome, in file order: lrn, duty (at stake, summed over its
    goods items) and fraud (its first outcome)."""
    return (
        test_declarations.select("lrn", "customs_value", "tax_rate")
        .group_by("lrn", maintain_order=True)
        .agg((pl.col("customs_value") * pl.col("tax_rate").fill_null(0) / 100).sum().alias("duty"))
        .join(
            test_outcomes.select("lrn", "fraud").unique("lrn", keep="first", maintain_order=True),
            on="lrn",
            how="inner",
            maintain_order="left",
        )
    )


def training_labels(train_declarations: pl.DataFrame, known_outcomes: pl.DataFrame) -> np.ndarray[Any, Any]:
    """The baseline's label per training row (no outcome counts as no fraud, as a plain model sees it)."""
    return (
        train_declarations.select("lrn")
        .join(known_outcomes.unique("lrn", keep="first"), on="lrn", how="left", maintain_order="left")[
            "fraud"
        ]
        .fill_null(0)
        .to_numpy()
    )


def baseline_scores(
    trained: tuple[lgb.Booster, dict[str, dict[str, int]], list[str]],
    test_declarations: pl.DataFrame,
    graded: pl.DataFrame,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The baseline's fraud probability for each row of ``graded`` (by lrn; its first goods item)."""
    booster, codes, columns = trained
    test_by_lrn = test_declarations.unique("lrn", keep="first", maintain_order=True)
    test_rows = graded.select("lrn").join(test_by_lrn, on="lrn", how="left", maintain_order="left")
    matrix = _baseline_matrix(test_rows.select(columns), codes)
    return np.asarray(booster.predict(matrix, num_threads=1), dtype=np.float64)


def _read(paths: Sequence[Path]) -> tuple[pl.DataFrame, pl.DataFrame]:
    frames = [read_kcs_frames(path) for path in paths]
    declarations = pl.concat([d for d, _ in frames], how="vertical")
    outcomes = pl.concat([o for _, o in frames], how="vertical")
    return declarations, outcomes


def score_test_period(
    *,
    train_declarations: pl.DataFrame,
    train_outcomes: pl.DataFrame,
    test_declarations: pl.DataFrame,
    seed: int = 42,
    profiles: Sequence[RiskProfile] = (),
    params: ModelParams | None = None,
) -> tuple[RiskModel, pl.DataFrame, pl.DataFrame]:
    """Trains on the training period and scores the test period. The test period's outcomes are not an
    argument: nothing of them can reach training or features. Its declarations do count as history (party
    counts), as they would at the border. Returns the model, the scores and the outcomes used."""
    known_outcomes = train_outcomes.filter(~pl.col("lrn").is_in(test_declarations["lrn"].implode()))
    model = train_risk_model(
        declarations=train_declarations, outcomes=known_outcomes, seed=seed, params=params
    )
    scored = model.score(
        declarations=test_declarations,
        history=pl.concat([train_declarations, test_declarations], how="vertical"),
        outcomes=known_outcomes,
        profiles=profiles,
        explain=NO_EXPLANATION,
    )
    return model, scored, known_outcomes


def evaluate_files(
    *,
    train: Sequence[Path],
    test: Path,
    seed: int = 42,
    profiles: Sequence[RiskProfile] = (),
    params: ModelParams | None = None,
) -> Evaluation:
    """Trains borderwatch and the baseline on ``train``, scores ``test`` with none of its outcomes."""
    from sklearn.metrics import precision_recall_curve

    train_declarations, train_outcomes = _read(train)
    test_declarations, test_outcomes = _read([test])
    model, scored, known_outcomes = score_test_period(
        train_declarations=train_declarations,
        train_outcomes=train_outcomes,
        test_declarations=test_declarations,
        seed=seed,
        profiles=profiles,
        params=params,
    )
    graded = graded_test_period(test_declarations, test_outcomes).join(
        scored.select("lrn", "score"), on="lrn", how="left", maintain_order="left"
    )
    labels = graded["fraud"].fill_null(0).to_numpy()
    duty = graded["duty"].to_numpy()
    train_labels = training_labels(train_declarations, known_outcomes)
    baseline = baseline_scores(
        train_baseline(train_declarations, train_labels, seed=seed), test_declarations, graded
    )
    ours = graded["score"].fill_null(0).to_numpy()
    report = {
        "rates": list(RATES),
        "models": {
            "borderwatch": ranking_report(labels, ours, duty),
            "baseline": ranking_report(labels, baseline, duty),
        },
    }
    curves = {}
    for name, ranking in (("borderwatch", ours), ("baseline", baseline)):
        if not 0 < labels.sum() < len(labels):
            break  # no curve without both classes
        precision, recall, _ = precision_recall_curve(labels, ranking)
        curves[name] = (recall, precision)
    return Evaluation(
        report=report,
        curves=curves,
        model=model,
        scores=scored,
        test_rows=len(labels),
        test_frauds=int(labels.sum()),
    )


def write_plot(evaluation: Evaluation, path: Path) -> None:
    """Precision/recall curves of both models, with the inspection rates marked on borderwatch's curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 5), dpi=110)
    for name, (recall, precision) in evaluation.curves.items():
        axis.plot(recall, precision, label=name, linewidth=1.6)
    ours = evaluation.report["models"]["borderwatch"]["at"]
    for rate in RATES:
        point = ours[str(rate)]
        axis.scatter([point["recall"]], [point["precision"]], color="black", s=14, zorder=3)
        axis.annotate(
            f"{rate} %", (point["recall"], point["precision"]), textcoords="offset points", xytext=(4, 4)
        )
    axis.set_xlabel("recall (share of frauds found)")
    axis.set_ylabel("precision (share of inspections that find fraud)")
    axis.set_title(
        f"Precision/recall on {evaluation.test_rows} test declarations ({evaluation.test_frauds} frauds)"
    )
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.02)
    axis.grid(alpha=0.3)
    axis.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
