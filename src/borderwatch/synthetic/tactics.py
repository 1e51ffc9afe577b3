"""Traffic for training exercises: a history and a queue in which chosen smuggling tactics are planted.

    traffic = training_traffic(seed=7, queue_size=60, plant={"misclassification": 6})
    traffic.history   # eight weeks of declarations with their outcomes (what the officer's systems know)
    traffic.queue     # the declarations to work, outcomes kept as the ground truth
    traffic.planted   # lrn, tactic, indicators (what a trainee should notice), evaded_duty

The background comes from :func:`generate_traffic`; tactics the generator already plants (undervaluation,
false origin, the importer ring) are taken from its own planted rows (frauds only), the others are planted
here on background rows of the queue, so that their size in the queue is exactly what a scenario asks.
Every queue row gets ``evaded_duty``: the duty its fraud left uncollected (zero for a clean declaration).

Preferential (FTA) declarations carry a certificate of origin (``Certificate No``, ``Certificate Issuer``,
``Certificate Date``): the documents an officer would see. Listed parties (``WATCHLIST``) are real entries of
public sanctions lists with a registered address, which a front company may share.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from borderwatch.synthetic import tables
from borderwatch.synthetic.generator import SANCTIONED_HS, generate_traffic
from borderwatch.synthetic.traffic import GeneratorConfig, GeneratorError

TACTICS: tuple[str, ...] = (
    "undervaluation",
    "misclassification",
    "false_origin",
    "importer_ring",
    "forged_certificate",
    "front_company",
    "new_trader_route",
)
# What a trainee should notice on a declaration of each tactic (``training.indicators`` shows each one).
TACTIC_INDICATORS: dict[str, tuple[str, ...]] = {
    "undervaluation": ("unit_value_below_reference",),
    "misclassification": ("description_does_not_match_hs",),
    "false_origin": ("route_contradicts_origin", "preferential_rate_claimed"),
    "importer_ring": ("importers_share_address", "broker_serves_one_address"),
    "forged_certificate": ("certificate_reused", "preferential_rate_claimed"),
    "front_company": ("seller_address_on_watchlist", "dual_use_goods"),
    "new_trader_route": ("new_importer", "route_never_seen"),
}
DUAL_USE_HS: tuple[str, ...] = SANCTIONED_HS
FTA_TAX_TYPES: frozenset[str] = frozenset(c[3] for c in tables.COUNTRIES if c[3])
CERTIFICATE_COLUMNS: tuple[str, ...] = ("Certificate No", "Certificate Issuer", "Certificate Date")

HS_HEADINGS: dict[str, str] = {h[0]: h[1] for h in tables.HS_CODES}
"""The HS 2022 heading text of each HS6 code the generator uses."""
_NATIVE = {"undervaluation", "false_origin", "importer_ring"}
_HIGH_DUTY_HS = tuple(h[0] for h in tables.HS_CODES if h[3] >= 13.0)
_ZERO_DUTY_HS = tuple(h[0] for h in tables.HS_CODES if h[3] == 0.0 and h[0] not in SANCTIONED_HS)
_HS = {h[0]: h for h in tables.HS_CODES}
_COUNTRY = {c[0]: c for c in tables.COUNTRIES}
QUEUE_DAYS = 7
CLEAR_UNDERVALUATION = 0.3
"""Planted undervaluation in a queue is at most this share of the HS6 x origin norm value."""


@dataclass(frozen=True)
class ListedParty:
    """An entry of a public sanctions list with its registered address."""

    name: str
    list_name: str
    entry: str
    address: str
    country: str


def _listed_address(index: int, country: str) -> str:
    street = tables.FOREIGN_STREETS[index % len(tables.FOREIGN_STREETS)]
    return f"Room {301 + 17 * index}, {12 + 9 * index} {street}, {_COUNTRY[country][4]}"


WATCHLIST: tuple[ListedParty, ...] = tuple(
    ListedParty(
        name=entry[0],
        list_name=entry[1],
        entry=entry[2],
        address=_listed_address(i, entry[4]),
        country=entry[4],
    )
    for i, entry in enumerate(tables.SANCTIONED)
)


@dataclass(frozen=True)
class TrainingTraffic:
    """A history with outcomes, a queue whose ``Fraud``/``Critical Fraud`` are the ground truth, and what was
    planted in the queue (``planted``: lrn, tactic, indicators, evaded_duty; one row per queue declaration,
    tactic null and indicators empty for the background)."""

    history: pl.DataFrame
    queue: pl.DataFrame
    planted: pl.DataFrame
    seed: int


def training_traffic(
    *, seed: int, queue_size: int, plant: Mapping[str, int], declarations: int = 8000, days: int = 63
) -> TrainingTraffic:
    """A queue of ``queue_size`` declarations from the last week of ``days`` days of generated traffic, with
    ``plant[tactic]`` declarations of each tactic, the rest background (its own ~8 % of frauds included)."""
    unknown = sorted(set(plant) - set(TACTICS))
    if unknown:
        raise GeneratorError(f"unknown tactic {unknown[0]!r}; known: {', '.join(TACTICS)}")
    if sum(plant.values()) > queue_size:
        raise GeneratorError("the planted declarations do not fit in the queue")
    start = date(2024, 3, 4)
    traffic = generate_traffic(GeneratorConfig(declarations=declarations, seed=seed, start=start, days=days))
    rng = np.random.default_rng([seed, 20])
    frame = _with_certificates(traffic.frame, rng).join(
        traffic.labels.select(pl.col("lrn").alias("Declaration ID"), "pattern"), on="Declaration ID"
    )
    cut = start + timedelta(days=days - QUEUE_DAYS)
    history = frame.filter(pl.col("Date") < cut)
    pool = frame.filter(pl.col("Date") >= cut)
    background = pool.filter(pl.col("pattern").is_null())
    taken: list[pl.DataFrame] = []
    used: set[str] = set()
    for tactic in TACTICS:
        count = plant.get(tactic, 0)
        if count <= 0:
            continue
        if tactic in _NATIVE:
            candidates = pool.filter((pl.col("pattern") == tactic) & (pl.col("Fraud") == 1))
            if tactic == "undervaluation":
                # A scenario plants clear examples: a price the importer's own noise cannot explain.
                candidates = candidates.filter(pl.col("Item Price") <= CLEAR_UNDERVALUATION * _norm_value())
            if candidates.height < count:
                raise GeneratorError(
                    f"only {candidates.height} {tactic} declarations in the week; ask for fewer or a longer "
                    "history"
                )
            rows = candidates.sample(count, seed=_seed(rng))
            rows = rows.with_columns(pl.lit(tactic).alias("tactic"))
        else:
            free = background.filter(~pl.col("Declaration ID").is_in(list(used)))
            rows = _PLANTERS[tactic](free.sample(count, seed=_seed(rng)), rng, history)
            rows = rows.with_columns(pl.lit(tactic).alias("tactic"))
        used.update(rows["Declaration ID"].to_list())
        taken.append(rows)
    rest = queue_size - sum(t.height for t in taken)
    free = background.filter(~pl.col("Declaration ID").is_in(list(used)))
    if free.height < rest:
        raise GeneratorError(f"the week has only {free.height} background declarations for the queue")
    taken.append(
        free.sample(rest, seed=_seed(rng)).with_columns(pl.lit(None, dtype=pl.String).alias("tactic"))
    )
    queue = pl.concat([t.select(taken[-1].columns) for t in taken], how="vertical_relaxed")
    queue = queue.sample(fraction=1.0, shuffle=True, seed=_seed(rng))
    planted = queue.select(
        pl.col("Declaration ID").alias("lrn"),
        "tactic",
        pl.col("tactic")
        .replace_strict(
            {t: list(v) for t, v in TACTIC_INDICATORS.items()}, default=[], return_dtype=pl.List(pl.String)
        )
        .alias("indicators"),
        _evaded_duty().alias("evaded_duty"),
    )
    columns = [c for c in frame.columns if c != "pattern"]
    return TrainingTraffic(
        history=history.select(columns), queue=queue.select(columns), planted=planted, seed=seed
    )


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def _norm_value() -> pl.Expr:
    """The goods' value at the HS6 x origin norm (the generator's price model), from the true HS code."""
    uv = {code: row[2] for code, row in _HS.items()}
    premium = {code: row[2] for code, row in _COUNTRY.items()}
    hs = pl.col("HS6 Code")
    return (
        pl.col("Net Mass")
        * hs.replace_strict(uv, default=1.0, return_dtype=pl.Float64)
        * pl.col("Country of Origin").replace_strict(premium, default=1.0, return_dtype=pl.Float64)
    )


def _evaded_duty() -> pl.Expr:
    """The duty a fraud left uncollected: the value shortfall against the norm for undervaluation (and for the
    background's frauds), the whole basic duty for a wrongly claimed preference, the true heading's duty for a
    misclassification, the declared duty at stake for goods that should not have entered at all."""
    basic = pl.col("HS6 Code").replace_strict(
        {code: row[3] for code, row in _HS.items()}, default=0.0, return_dtype=pl.Float64
    )
    value = pl.col("Item Price")
    rate = pl.col("Tax Rate") / 100
    shortfall = (_norm_value() - value).clip(lower_bound=0) * rate
    duty = (
        pl.when(pl.col("tactic").is_in(["undervaluation", "importer_ring", "new_trader_route"]))
        .then(shortfall)
        .when(pl.col("tactic").is_in(["false_origin", "forged_certificate"]))
        .then(value * basic / 100)
        .when(pl.col("tactic") == "misclassification")
        .then(pl.col("evaded"))
        .when(pl.col("tactic") == "front_company")
        .then(value * rate)
        .otherwise(shortfall)  # background frauds: the generator undervalues a third of them
    )
    return pl.when(pl.col("Fraud") == 1).then(duty.round(2)).otherwise(0.0)


# --- documents ----------------------------------------------------------------------------------------------


def _with_certificates(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """A certificate of origin on every preferential declaration: issued by the origin country 3-30 days
    before the declaration, numbered per issuer."""
    n = frame.height
    # Distinct numbers: a genuine certificate is presented once (a re-used one is the forged_certificate
    # tactic).
    numbers = pl.Series(rng.permutation(900_000)[:n] + 100_000).cast(pl.String)
    back = pl.Series(rng.integers(3, 31, size=n), dtype=pl.Int64)
    preferential = pl.col("Tax Type").is_in(list(FTA_TAX_TYPES))
    return frame.with_columns(
        pl.when(preferential)
        .then(pl.format("CO-{}-{}", pl.col("Country of Origin"), numbers))
        .alias("Certificate No"),
        pl.when(preferential).then(pl.col("Country of Origin")).alias("Certificate Issuer"),
        pl.when(preferential).then(pl.col("Date") - pl.duration(days=pl.lit(back))).alias("Certificate Date"),
        pl.lit(0.0).alias("evaded"),
    )


# --- the tactics planted here (each takes the chosen background rows and returns them changed) -----------
# The rows are a handful per queue, so they are changed as dictionaries: clearer than expressions here.

Planter = Callable[[pl.DataFrame, np.random.Generator, pl.DataFrame], pl.DataFrame]


def _rows(frame: pl.DataFrame, rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=frame.schema)


def _fresh_id(rng: np.random.Generator, taken: set[str]) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    while True:
        candidate = "".join(alphabet[int(i)] for i in rng.integers(0, 36, size=7))
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def _misclassification(frame: pl.DataFrame, rng: np.random.Generator, _history: pl.DataFrame) -> pl.DataFrame:
    """High-duty goods (their description kept) declared under a zero-duty HS code of other goods."""
    out = []
    for row in frame.iter_rows(named=True):
        true = _HS[_HS_CHOICE(rng, _HIGH_DUTY_HS)]
        declared = _HS[_HS_CHOICE(rng, _ZERO_DUTY_HS)]
        origin = str(row["Country of Origin"])
        value = round(
            float(row["Net Mass"]) * true[2] * _COUNTRY[origin][2] * float(np.exp(rng.normal(0, 0.2))), 2
        )
        row |= {
            "HS6 Code": declared[0],
            "Goods Description": true[1],
            "Tax Rate": declared[3],
            "Tax Type": "A",
            "Item Price": max(value, 0.01),
            "Fraud": 1,
            "Critical Fraud": 1,
            "evaded": round(max(value, 0.01) * true[3] / 100, 2),
            "Certificate No": None,
            "Certificate Issuer": None,
            "Certificate Date": None,
        }
        out.append(row)
    return _rows(frame, out)


def _HS_CHOICE(rng: np.random.Generator, codes: tuple[str, ...]) -> str:  # noqa: N802
    return codes[int(rng.integers(0, len(codes)))]


def _forged_certificate(frame: pl.DataFrame, rng: np.random.Generator, history: pl.DataFrame) -> pl.DataFrame:
    """A preferential rate claimed with a certificate number already presented by another importer."""
    presented = history.filter(pl.col("Certificate No").is_not_null())
    fta = [c[0] for c in tables.COUNTRIES if c[3] and c[0] != "KR"]
    out = []
    for row in frame.iter_rows(named=True):
        other = (
            presented.filter(pl.col("Importer ID") != row["Importer ID"])
            .sample(1, seed=_seed(rng))
            .row(0, named=True)
        )
        origin = str(other["Country of Origin"]) if other["Country of Origin"] in fta else fta[0]
        row |= {
            "Country of Origin": origin,
            "Country of Departure": origin,
            "Transit Countries": None,
            "Tax Type": _COUNTRY[origin][3],
            "Tax Rate": 0.0,
            "Certificate No": other["Certificate No"],
            "Certificate Issuer": other["Certificate Issuer"],
            "Certificate Date": other["Certificate Date"],
            "Fraud": 1,
            "Critical Fraud": 1,
        }
        out.append(row)
    return _rows(frame, out)


def _front_company(frame: pl.DataFrame, rng: np.random.Generator, history: pl.DataFrame) -> pl.DataFrame:
    """One clean-named seller, registered at the address of a listed party, selling dual-use goods."""
    listed = WATCHLIST[int(rng.integers(0, len(WATCHLIST)))]
    taken = set(history["Seller ID"].drop_nulls().to_list()) | set(frame["Seller ID"].drop_nulls().to_list())
    seller_id = _fresh_id(rng, taken)
    stem = tables.FOREIGN_STEMS[int(rng.integers(0, len(tables.FOREIGN_STEMS)))]
    form = tables.LEGAL_FORMS.get(listed.country, tables.DEFAULT_LEGAL_FORM)
    name = f"{stem}bridge Precision Components {form}"
    out = []
    for row in frame.iter_rows(named=True):
        hs = _HS[_HS_CHOICE(rng, DUAL_USE_HS)]
        row |= {
            "Seller ID": seller_id,
            "Seller Name": name,
            "Seller Address": listed.address,
            "Seller Country": listed.country,
            "Country of Origin": listed.country,
            "Country of Departure": listed.country,
            "Transit Countries": None,
            "HS6 Code": hs[0],
            "Goods Description": hs[1],
            "Tax Rate": hs[3],
            "Tax Type": "A",
            "Certificate No": None,
            "Certificate Issuer": None,
            "Certificate Date": None,
            "Fraud": 1,
            "Critical Fraud": 2,
        }
        out.append(row)
    return _rows(frame, out)


def _new_trader_route(frame: pl.DataFrame, rng: np.random.Generator, history: pl.DataFrame) -> pl.DataFrame:
    """Importers never seen before, by courier on a route (origin, departure, transit) never seen for those
    goods, at a third to a half of the norm value."""
    seen = set(
        history.select(
            pl.concat_str(
                [
                    "HS6 Code",
                    "Country of Origin",
                    "Country of Departure",
                    pl.col("Transit Countries").fill_null(""),
                ],
                separator="|",
            )
        )
        .to_series()
        .to_list()
    )
    taken = set(history["Importer ID"].to_list()) | set(frame["Importer ID"].to_list())
    hubs = [h for h, _ in tables.HUBS]
    origins = ("TR", "PK", "BD", "RU", "AE", "KH")
    out = []
    for row in frame.iter_rows(named=True):
        hs = _HS[_HS_CHOICE(rng, _HIGH_DUTY_HS)]
        while True:
            origin = origins[int(rng.integers(0, len(origins)))]
            departure = hubs[int(rng.integers(0, len(hubs)))]
            transit = hubs[int(rng.integers(0, len(hubs)))]
            key = f"{hs[0]}|{origin}|{departure}|{transit}"
            if len({origin, departure, transit}) == 3 and key not in seen:
                break
        importer = _fresh_id(rng, taken)
        syllables = tables.KOREAN_SYLLABLES
        name = f"{_HS_CHOICE(rng, syllables)}{_HS_CHOICE(rng, syllables).lower()} Global Trading Co."
        norm = float(row["Net Mass"]) * hs[2] * _COUNTRY[origin][2]
        row |= {
            "HS6 Code": hs[0],
            "Goods Description": hs[1],
            "Importer ID": importer,
            "Importer Name": name,
            "Importer Address": (
                f"{int(rng.integers(1, 400))} Sinsan-ro, Saha-gu, Busan 49{int(rng.integers(100, 999))}"
            ),
            "Country of Origin": origin,
            "Country of Departure": departure,
            "Transit Countries": transit,
            "Mode of Transport": tables.MODES_AIR,
            "Tax Type": "A",
            "Tax Rate": hs[3],
            "Item Price": round(max(norm * float(rng.uniform(0.3, 0.5)), 0.01), 2),
            "Certificate No": None,
            "Certificate Issuer": None,
            "Certificate Date": None,
            "Fraud": 1,
            "Critical Fraud": 1,
        }
        out.append(row)
    return _rows(frame, out)


_PLANTERS: dict[str, Planter] = {
    "misclassification": _misclassification,
    "forged_certificate": _forged_certificate,
    "front_company": _front_company,
    "new_trader_route": _new_trader_route,
}
