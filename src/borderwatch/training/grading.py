"""Grading an attempt: the trainee's choices against the truth, beside the model and a random choice at the
same budget on the same queue.

A red choice is an inspection: ``hit_rate`` is the share of red choices that were frauds; duty is recovered
from the frauds sent to red. Yellow (documents) and green release the goods. Declarations without a choice
count as green. Confidence is the trainee's probability that the choice is right: the stated probability of
fraud is the confidence for red or yellow and one minus it for green (``brier``: the mean squared error of
those probabilities, 0 is perfect, 0.25 is a coin toss). Random figures are the expectation of choosing
``budget`` declarations uniformly at random (hit rate = the queue's fraud rate).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from borderwatch.core.errors import BorderwatchError
from borderwatch.core.vocabulary import LANES
from borderwatch.training.exercise import Exercise


class GradingError(BorderwatchError):
    """Choices that cannot be graded (an unknown declaration, a lane that is not one, a bad confidence)."""


@dataclass(frozen=True)
class Choice:
    lrn: str
    lane: str
    confidence: float | None = None
    indicators: tuple[str, ...] = ()
    seconds: float | None = None
    """Time the trainee took to decide this one, when measured."""


@dataclass(frozen=True)
class Figures:
    hit_rate: float | None
    duty_recovered: float
    duty_recovered_share: float
    frauds_found: float
    frauds_missed: float
    needless_inspections: float
    inspections: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "hit_rate": self.hit_rate,
            "duty_recovered": round(self.duty_recovered, 2),
            "duty_recovered_share": round(self.duty_recovered_share, 4),
            "frauds_found": self.frauds_found,
            "frauds_missed": self.frauds_missed,
            "needless_inspections": self.needless_inspections,
            "inspections": self.inspections,
        }


@dataclass(frozen=True)
class Grade:
    trainee: Figures
    model: Figures | None
    random: Figures
    brier: float | None
    model_brier: float | None
    indicators_recognised: float | None
    seconds_per_decision: float | None
    over_budget: int
    debrief: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.trainee.as_dict(),
            "brier": self.brier,
            "indicators_recognised": self.indicators_recognised,
            "seconds_per_decision": self.seconds_per_decision,
            "over_budget": self.over_budget,
            "model": {**self.model.as_dict(), "brier": self.model_brier} if self.model else None,
            "random": self.random.as_dict(),
            "debrief": self.debrief,
        }


def _figures(truth: list[dict[str, Any]], red: set[str]) -> Figures:
    total_duty = sum(row["evaded_duty"] for row in truth if row["fraud"])
    found = [row for row in truth if row["lrn"] in red and row["fraud"]]
    recovered = sum(row["evaded_duty"] for row in found)
    frauds = sum(1 for row in truth if row["fraud"])
    return Figures(
        hit_rate=round(len(found) / len(red), 4) if red else None,
        duty_recovered=recovered,
        duty_recovered_share=recovered / total_duty if total_duty else 0.0,
        frauds_found=len(found),
        frauds_missed=frauds - len(found),
        needless_inspections=len(red) - len(found),
        inspections=len(red),
    )


def _random(truth: list[dict[str, Any]], budget: int) -> Figures:
    n = len(truth)
    frauds = sum(1 for row in truth if row["fraud"])
    share = min(budget, n) / n if n else 0.0
    total_duty = sum(row["evaded_duty"] for row in truth if row["fraud"])
    return Figures(
        hit_rate=round(frauds / n, 4) if n else None,
        duty_recovered=total_duty * share,
        duty_recovered_share=share if total_duty else 0.0,
        frauds_found=round(frauds * share, 3),
        frauds_missed=round(frauds * (1 - share), 3),
        needless_inspections=round((n - frauds) * share, 3),
        inspections=min(budget, n),
    )


def _brier(pairs: Iterable[tuple[float, int]]) -> float | None:
    values = [(p - y) ** 2 for p, y in pairs]
    return round(sum(values) / len(values), 4) if values else None


def _check(exercise: Exercise, choices: Iterable[Choice]) -> dict[str, Choice]:
    known = {row["lrn"] for row in exercise.truth}
    picked: dict[str, Choice] = {}
    for choice in choices:
        if choice.lrn not in known:
            raise GradingError(f"declaration {choice.lrn!r} is not in the queue of {exercise.scenario_id}")
        if choice.lane not in LANES:
            raise GradingError(f"declaration {choice.lrn}: lane {choice.lane!r} is not red, yellow or green")
        if choice.confidence is not None and not 0.0 <= choice.confidence <= 1.0:
            raise GradingError(
                f"declaration {choice.lrn}: confidence {choice.confidence} is not between 0 and 1"
            )
        picked[choice.lrn] = choice
    return picked


def grade(exercise: Exercise, choices: Iterable[Choice]) -> Grade:
    """The trainee's figures, the model's and random's on the same queue and budget, and the debrief."""
    picked = _check(exercise, choices)
    truth = exercise.truth
    red = {lrn for lrn, c in picked.items() if c.lane == "red"}
    forecasts = [
        (c.confidence if c.lane != "green" else 1 - c.confidence, row["fraud"])
        for row in truth
        if (c := picked.get(row["lrn"])) is not None and c.confidence is not None
    ]
    model_red = {row["lrn"] for row in truth if row.get("model_selected")}
    has_model = any(row.get("model_selected") is not None for row in truth)
    expected = [(row, set(row["indicators"])) for row in truth if row["fraud"] and row["indicators"]]
    named = sum(len(wanted) for _, wanted in expected)
    recognised = sum(
        len(wanted & set(picked[row["lrn"]].indicators)) for row, wanted in expected if row["lrn"] in picked
    )
    seconds = [c.seconds for c in picked.values() if c.seconds is not None]
    return Grade(
        trainee=_figures(truth, red),
        model=_figures(truth, model_red) if has_model else None,
        random=_random(truth, exercise.budget),
        brier=_brier(forecasts),
        model_brier=_brier(
            (row["model_probability"], row["fraud"])
            for row in truth
            if row.get("model_probability") is not None
        ),
        indicators_recognised=round(recognised / named, 4) if named else None,
        seconds_per_decision=round(sum(seconds) / len(seconds), 2) if seconds else None,
        over_budget=max(0, len(red) - exercise.budget),
        debrief=debrief(exercise, picked),
    )


def debrief(exercise: Exercise, picked: Mapping[str, Choice]) -> dict[str, Any]:
    """What was really there: each fraud with its tactic, indicators, the duty at stake, the trainee's and the
    model's lane; the indicators the trainee did not tick; the duty left uncollected."""
    frauds = [row for row in exercise.truth if row["fraud"]]
    rows = []
    missed_indicators: set[str] = set()
    uncollected = 0.0
    for row in frauds:
        choice = picked.get(row["lrn"])
        lane = choice.lane if choice else "green"
        ticked = set(choice.indicators) if choice else set()
        missed = [i for i in row["indicators"] if i not in ticked]
        missed_indicators.update(missed)
        if lane != "red":
            uncollected += row["evaded_duty"]
        rows.append(
            {
                "lrn": row["lrn"],
                "tactic": row["tactic"],
                "indicators": row["indicators"],
                "missed_indicators": missed,
                "evaded_duty": row["evaded_duty"],
                "lane": lane,
                "model_selected": row.get("model_selected"),
            }
        )
    needless = [
        row["lrn"]
        for row in exercise.truth
        if not row["fraud"] and (c := picked.get(row["lrn"])) is not None and c.lane == "red"
    ]
    return {
        "frauds": [row["lrn"] for row in frauds],
        "details": rows,
        "indicators": sorted({i for row in frauds for i in row["indicators"]}),
        "missed_indicators": sorted(missed_indicators),
        "duty_uncollected": round(uncollected, 2),
        "needless": needless,
        "text": exercise.debrief,
    }


def read_choices_csv(text: str) -> list[Choice]:
    """Choices from CSV (columns ``lrn``, ``lane``, optional ``confidence``, ``indicators`` split by ``;``,
    ``seconds``); an error names the line and the field."""
    reader = csv.DictReader(io.StringIO(text))
    fields = set(reader.fieldnames or [])
    if not {"lrn", "lane"} <= fields:
        raise GradingError("the choices file needs the columns lrn and lane (and optionally confidence)")
    found: list[Choice] = []
    for line, row in enumerate(reader, start=2):
        try:
            confidence = float(row["confidence"]) if (row.get("confidence") or "").strip() else None
            seconds = float(row["seconds"]) if (row.get("seconds") or "").strip() else None
        except ValueError:
            raise GradingError(f"line {line}: confidence and seconds must be numbers") from None
        ticked = tuple(i for i in (row.get("indicators") or "").split(";") if i.strip())
        found.append(
            Choice(
                lrn=(row["lrn"] or "").strip(),
                lane=(row["lane"] or "").strip().lower(),
                confidence=confidence,
                indicators=tuple(i.strip() for i in ticked),
                seconds=seconds,
            )
        )
    return found
