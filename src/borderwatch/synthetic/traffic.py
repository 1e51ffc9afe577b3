"""What the generator produces: its configuration, the traffic with its ground truth, and corrupt lines.

Kept apart from the generation itself so that callers can cut and reshape traffic (``split``,
``without_outcomes``) without touching the random draws.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from borderwatch.core.errors import BorderwatchError

KCS_LAYOUT: tuple[str, ...] = (
    "Declaration ID",
    "Date",
    "Office ID",
    "Process Type",
    "Import Type",
    "Import Use",
    "Payment Type",
    "Mode of Transport",
    "Declarant ID",
    "Importer ID",
    "Seller ID",
    "Courier ID",
    "HS6 Code",
    "Country of Departure",
    "Country of Origin",
    "Tax Rate",
    "Tax Type",
    "Country of Origin Indicator",
    "Net Mass",
    "Item Price",
    "Fraud",
    "Critical Fraud",
)
EXTRA_COLUMNS: tuple[str, ...] = (
    "Importer Name",
    "Importer Address",
    "Importer Country",
    "Declarant Name",
    "Seller Name",
    "Seller Address",
    "Seller Country",
    "Courier Name",
    "Transit Countries",
    "Goods Description",
    "Currency",
    "Container IDs",
)
COLUMNS = KCS_LAYOUT + EXTRA_COLUMNS
OUTCOME_COLUMNS = ("Fraud", "Critical Fraud")
MAX_DECLARATIONS = 20_000_000  # Declaration IDs are 8 digits, as in the KCS release
CORRUPT_KINDS = ("bad_hs_code", "bad_country", "negative_mass", "broken_quoting", "truncated_line")


class GeneratorError(BorderwatchError):
    """A generator configuration that cannot be honoured."""


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. The same config always gives the same traffic, byte for byte.

    ``declarations`` valid declarations over ``days`` days from ``start``; ``drift_at`` (a fraction of the
    period, e.g. 0.5) plants a fraud pattern that only starts at that point; ``corrupt`` adds that many
    deliberately invalid lines to the written file (they are not in ``GeneratedTraffic.frame``).
    """

    declarations: int
    seed: int = 42
    start: date = date(2024, 1, 1)
    days: int = 365
    drift_at: float | None = None
    corrupt: int = 0

    def __post_init__(self) -> None:
        if self.declarations < 1:
            raise GeneratorError("the number of declarations must be at least 1")
        if self.declarations + self.corrupt > MAX_DECLARATIONS:
            raise GeneratorError(f"at most {MAX_DECLARATIONS:,} declarations fit the 8-digit id space")
        if self.days < 1:
            raise GeneratorError("the period must be at least 1 day long")
        if self.drift_at is not None and not 0.0 < self.drift_at < 1.0:
            raise GeneratorError("drift_at must be a fraction of the period strictly between 0 and 1")
        if self.corrupt < 0:
            raise GeneratorError("the number of corrupt lines cannot be negative")

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    @property
    def drift_date(self) -> date | None:
        if self.drift_at is None:
            return None
        return self.start + timedelta(days=round(self.drift_at * self.days))


@dataclass(frozen=True)
class CorruptLine:
    """A deliberately invalid line: it sits after ``rows_before`` valid rows of the frame, and is line
    ``line`` of the written file (the header is line 1)."""

    line: int
    rows_before: int
    lrn: str
    kind: str
    field: str | None
    values: dict[str, str]

    @property
    def text(self) -> str:
        return render_corrupt(self.values, self.kind)

    def truth(self) -> dict[str, Any]:
        return {"line": self.line, "lrn": self.lrn, "kind": self.kind, "field": self.field}


@dataclass
class GeneratedTraffic:
    """Generated declarations and what was planted in them.

    ``frame``: the KCS layout plus the agreed extra columns, one row per declaration in date order, with
    Fraud/Critical Fraud. ``truth``: JSON-able ground truth (config, seasonality, ``patterns`` with their
    parameters, party ids and ``lrns``, ``corrupt_lines``). ``labels``: (``lrn``, ``pattern``: null for
    background traffic, ``fraud``, ``critical_fraud``), kept when ``without_outcomes`` empties the frame's.
    ``corrupt_lines``: the invalid lines ``write_traffic`` inserts (not in ``frame``).
    """

    config: GeneratorConfig
    frame: pl.DataFrame
    truth: dict[str, Any]
    labels: pl.DataFrame
    corrupt_lines: list[CorruptLine] = field(default_factory=list)

    def split(self, on: date) -> tuple[GeneratedTraffic, GeneratedTraffic]:
        """The traffic before ``on`` and from ``on`` (e.g. history and the new week), each with its own
        truth: pattern ``lrns`` restricted to the part, corrupt lines renumbered for the part's file."""
        before = self.frame["Date"] < on
        cut = int(before.sum())
        first = [line for line in self.corrupt_lines if line.rows_before < cut]
        second = [
            replace(line, rows_before=line.rows_before - cut)
            for line in self.corrupt_lines
            if line.rows_before >= cut
        ]
        period = (self.config.start, on - timedelta(days=1)), (on, self.config.end)
        return (
            self._part(self.frame.filter(before), first, period[0]),
            self._part(self.frame.filter(~before), second, period[1]),
        )

    def without_outcomes(self) -> GeneratedTraffic:
        """The same traffic with empty Fraud/Critical Fraud, as declarations look before inspection."""
        nothing = pl.lit(None, dtype=pl.Int8)
        frame = self.frame.with_columns(nothing.alias(column) for column in OUTCOME_COLUMNS)
        lines = [
            replace(line, values=line.values | dict.fromkeys(OUTCOME_COLUMNS, ""))
            for line in self.corrupt_lines
        ]
        truth = copy.deepcopy(self.truth)
        truth["outcomes_withheld"] = True
        return GeneratedTraffic(self.config, frame, truth, self.labels, lines)

    def with_corrupt_lines(self, count: int, *, seed: int) -> GeneratedTraffic:
        """The same traffic with ``count`` fresh corrupt lines (drawn with ``seed``) instead of its own."""
        lines = make_corrupt_lines(np.random.default_rng(seed), self.frame, count)
        truth = copy.deepcopy(self.truth)
        truth["corrupt_lines"] = [line.truth() for line in lines]
        return GeneratedTraffic(self.config, self.frame, truth, self.labels, lines)

    def _part(
        self, frame: pl.DataFrame, lines: list[CorruptLine], period: tuple[date, date]
    ) -> GeneratedTraffic:
        lines = [replace(line, line=line.rows_before + index + 2) for index, line in enumerate(lines)]
        keep = set(frame["Declaration ID"].to_list())
        truth = copy.deepcopy(self.truth)
        truth["part"] = {
            "start": period[0].isoformat(),
            "end": period[1].isoformat(),
            "declarations": frame.height,
        }
        for pattern in truth["patterns"].values():
            for key in ("lrns", "lrns_before"):
                if key in pattern:
                    pattern[key] = [lrn for lrn in pattern[key] if lrn in keep]
            for party in pattern.get("parties", []):
                party["lrns"] = [lrn for lrn in party.get("lrns", []) if lrn in keep]
        truth["corrupt_lines"] = [line.truth() for line in lines]
        labels = self.labels.filter(pl.col("lrn").is_in(frame["Declaration ID"].implode()))
        return GeneratedTraffic(self.config, frame, truth, labels, lines)


def make_corrupt_lines(rng: np.random.Generator, frame: pl.DataFrame, count: int) -> list[CorruptLine]:
    """``count`` invalid lines, each a copy of a random row with a fresh Declaration ID and one defect,
    cycling through ``CORRUPT_KINDS``, placed at random positions of the file."""
    if count == 0 or frame.height == 0:
        return []
    n = frame.height
    positions = np.sort(rng.choice(n + count, size=count, replace=False))
    existing = set(frame["Declaration ID"].to_list())
    fresh: list[str] = []
    while len(fresh) < count:
        candidate = str(int(rng.integers(10_000_000, 100_000_000)))
        if candidate not in existing and candidate not in fresh:
            fresh.append(candidate)
    lines: list[CorruptLine] = []
    for number, position in enumerate(positions.tolist()):
        rows_before = position - number
        template = frame.row(min(rows_before, n - 1), named=True)
        values = {column: "" if value is None else str(value) for column, value in template.items()}
        values["Declaration ID"] = fresh[number]
        kind = CORRUPT_KINDS[number % len(CORRUPT_KINDS)]
        where: str | None = None
        if kind == "bad_hs_code":
            where, values["HS6 Code"] = "HS6 Code", ("12AB56", "9", "HS6109", "61-09-10")[number % 4]
        elif kind == "bad_country":
            where, values["Country of Origin"] = "Country of Origin", ("QQ", "XY", "C1", "1A")[number % 4]
        elif kind == "negative_mass":
            mass = abs(float(values["Net Mass"] or 1.0)) or 1.0
            where, values["Net Mass"] = "Net Mass", str(-mass)
        lines.append(
            CorruptLine(
                line=position + 2,
                rows_before=rows_before,
                lrn=fresh[number],
                kind=kind,
                field=where,
                values=values,
            )
        )
    return lines


def render_corrupt(values: dict[str, str], kind: str) -> str:
    """The text of a corrupt line: ``values`` as a CSV line, broken the way ``kind`` says."""
    text = ",".join(csv_field(values.get(column, "")) for column in COLUMNS)
    if kind == "broken_quoting":
        # A quoted field followed by more text after its closing quote: not valid CSV in any dialect.
        name = values.get("Importer Name", "").replace('"', "") or "Unknown"
        start = len(",".join(csv_field(values.get(column, "")) for column in COLUMNS[:22])) + 1
        rest = text[start + len(csv_field(values.get("Importer Name", ""))) :]
        return f'{text[:start]}"{name}" Branch{rest}'
    if kind == "truncated_line":
        # Cut inside the KCS columns, which never need quoting, so the line cannot join the next one.
        cut = sum(len(csv_field(values.get(column, ""))) + 1 for column in KCS_LAYOUT[:11])
        return text[: cut + 3]
    return text


def csv_field(value: str) -> str:
    """``value`` as one CSV field (quoted only when needed, like Polars' writer)."""
    if any(character in value for character in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value
