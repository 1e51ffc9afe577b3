"""Vectorised generation of KCS-layout port traffic, with planted fraud patterns and their ground truth.

Everything is drawn from one seeded NumPy generator per concern (``SeedSequence.spawn``), so a given
``GeneratorConfig`` always yields the same frame, and changing one concern does not reshuffle the others.
See the package docstring for the patterns and how they are recorded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from borderwatch.synthetic import tables
from borderwatch.synthetic.traffic import GeneratedTraffic, GeneratorConfig, make_corrupt_lines

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


# The planted patterns' fixed parameters (documented in the package docstring).
UNDERVALUED_HS = ("610910", "640299", "420292")
UNDERVALUED_ORIGIN = "CN"
FALSE_ORIGIN_HS = ("731815", "732690", "760711")
FALSE_ORIGIN_TRUE = "CN"
FALSE_ORIGIN_DECLARED = ("VN", "MY", "TH")
SANCTIONED_HS = ("847160", "854231", "853710", "848690", "880330")
DRIFT_HS = "850760"
DRIFT_ORIGIN = "MY"

# Shares of all declarations that each pattern takes (the drift pattern's share is of the period after drift).
SHARE_UNDERVALUED = 0.03
SHARE_FALSE_ORIGIN = 0.02
SHARE_RING = 0.012
SHARE_SANCTIONED = 0.003
SHARE_DRIFT_BEFORE = 0.006
SHARE_DRIFT_AFTER = 0.03


# --- small helpers ------------------------------------------------------------------------------------------


def _probabilities(weights: npt.ArrayLike) -> FloatArray:
    array = np.asarray(weights, dtype=np.float64)
    normalised: FloatArray = array / array.sum()
    return normalised


def _categorical(rng: np.random.Generator, table: tuple[tuple[str, float], ...], size: int) -> IntArray:
    """Indices into ``table`` drawn by its weights."""
    return rng.choice(len(table), size=size, p=_probabilities([w for _, w in table])).astype(np.int64)


def _codes(table: tuple[tuple[str, float], ...]) -> pl.Series:
    return pl.Series([code for code, _ in table], dtype=pl.String)


def _zipf(count: int, offset: float, exponent: float = 1.0) -> FloatArray:
    """Activity weights of ``count`` parties by rank: a few very active, a long tail of occasional ones."""
    return _probabilities(1.0 / (np.arange(count) + offset) ** exponent)


def _unique_ints(rng: np.random.Generator, count: int, low: int, high: int) -> IntArray:
    """``count`` distinct integers in ``[low, high)``, in random order, without materialising the range."""
    found = np.empty(0, dtype=np.int64)
    while found.size < count:
        draw = rng.integers(low, high, size=int((count - found.size) * 1.2) + 16, dtype=np.int64)
        merged = np.concatenate([found, draw])
        _, first = np.unique(merged, return_index=True)
        found = merged[np.sort(first)]
    return found[:count]


_ALPHANUMERIC = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)


def _base36_ids(rng: np.random.Generator, count: int, width: int) -> pl.Series:
    """``count`` distinct upper-case alphanumeric ids of ``width`` characters, like the KCS party ids."""
    numbers = _unique_ints(rng, count, 0, 36**width)
    digits = np.empty((count, width), dtype=np.uint8)
    for position in range(width - 1, -1, -1):
        digits[:, position] = _ALPHANUMERIC[numbers % 36]
        numbers = numbers // 36
    return pl.Series(digits.view(f"S{width}").ravel().astype(str), dtype=pl.String)


def _gather(values: pl.Series, index: IntArray) -> pl.Series:
    return values.gather(pl.Series(index, dtype=pl.Int64))


def _pick_in_groups(
    rng: np.random.Generator, members_group: IntArray, wanted_group: IntArray, fallback: int
) -> IntArray:
    """For each wanted group, a random member of that group (members given by their group); ``fallback``
    members are drawn from everyone when a group has no member."""
    order = np.argsort(members_group, kind="stable")
    groups = int(max(members_group.max(initial=0), wanted_group.max(initial=0))) + 1
    counts = np.bincount(members_group, minlength=groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    wanted_counts = counts[wanted_group]
    offsets = np.floor(rng.random(wanted_group.size) * np.maximum(wanted_counts, 1)).astype(np.int64)
    picked = order[np.minimum(starts[wanted_group] + offsets, max(order.size - 1, 0))]
    empty = wanted_counts == 0
    picked[empty] = rng.integers(0, fallback, size=int(empty.sum()))
    return picked.astype(np.int64)


# --- calendar -----------------------------------------------------------------------------------------------


def _holidays(start: date, days: int) -> list[date]:
    end = start + timedelta(days=days - 1)
    found: set[date] = set()
    for year in range(start.year, end.year + 1):
        found.update(date(year, month, day) for month, day in tables.FIXED_HOLIDAYS)
    for first in tables.LUNAR_HOLIDAYS:
        found.update(first + timedelta(days=offset) for offset in range(3))
    return sorted(day for day in found if start <= day <= end)


def _day_weights(start: date, days: int) -> tuple[FloatArray, list[date]]:
    dates = [start + timedelta(days=offset) for offset in range(days)]
    holidays = set(_holidays(start, days))
    weights = np.array(
        [
            tables.WEEKDAY_FACTORS[day.weekday()]
            * tables.MONTH_FACTORS[day.month - 1]
            * (tables.HOLIDAY_FACTOR if day in holidays else 1.0)
            for day in dates
        ]
    )
    return weights, sorted(holidays)


# --- parties ------------------------------------------------------------------------------------------------


@dataclass
class _Parties:
    ids: pl.Series
    names: pl.Series
    addresses: pl.Series
    countries: pl.Series


def _korean_company_names(rng: np.random.Generator, count: int) -> pl.Series:
    syllables, industries, forms = tables.KOREAN_SYLLABLES, tables.INDUSTRIES, tables.KOREAN_FORMS
    space = len(syllables) ** 2 * len(industries) * len(forms)
    combo = (
        rng.choice(space, size=count, replace=False) if count <= space else rng.integers(0, space, size=count)
    )
    first, rest = np.divmod(combo, space // len(syllables))
    second, rest = np.divmod(rest, len(industries) * len(forms))
    industry, form = np.divmod(rest, len(forms))
    frame = pl.DataFrame(
        {
            "a": _gather(pl.Series(syllables), first),
            "b": _gather(pl.Series([s.lower() for s in syllables]), second),
            "c": _gather(pl.Series(industries), industry),
            "d": _gather(pl.Series(forms), form),
        }
    )
    return frame.select(pl.format("{}{} {} {}", "a", "b", "c", "d")).to_series()


def _korean_addresses(rng: np.random.Generator, count: int) -> pl.Series:
    streets, districts = tables.KOREAN_STREETS, tables.KOREAN_DISTRICTS
    district = rng.integers(0, len(districts), size=count)
    frame = pl.DataFrame(
        {
            "no": rng.integers(1, 400, size=count),
            "street": _gather(pl.Series(streets), rng.integers(0, len(streets), size=count)),
            "lane": rng.integers(1, 120, size=count),
            "district": _gather(pl.Series([d[0] for d in districts]), district),
            "city": _gather(pl.Series([d[1] for d in districts]), district),
            "zip": _gather(pl.Series([d[2] for d in districts]), district),
            "zip_tail": rng.integers(100, 1000, size=count),
        }
    )
    return frame.select(
        pl.format(
            "{} {} {}beon-gil, {}, {} {}{}", "no", "street", "lane", "district", "city", "zip", "zip_tail"
        )
    ).to_series()


def _foreign_parties(rng: np.random.Generator, countries: IntArray, ids: pl.Series) -> _Parties:
    count = countries.size
    codes = pl.Series([c[0] for c in tables.COUNTRIES])
    forms = pl.Series([tables.LEGAL_FORMS.get(c[0], tables.DEFAULT_LEGAL_FORM) for c in tables.COUNTRIES])
    cities = pl.Series([c[4] for c in tables.COUNTRIES])
    stems, endings = tables.FOREIGN_STEMS, tables.FOREIGN_ENDINGS
    frame = pl.DataFrame(
        {
            "stem": _gather(pl.Series(stems), rng.integers(0, len(stems), size=count)),
            "ending": _gather(pl.Series(endings), rng.integers(0, len(endings), size=count)),
            "industry": _gather(
                pl.Series(tables.INDUSTRIES), rng.integers(0, len(tables.INDUSTRIES), size=count)
            ),
            "form": _gather(forms, countries),
            "no": rng.integers(1, 2000, size=count),
            "street": _gather(
                pl.Series(tables.FOREIGN_STREETS), rng.integers(0, len(tables.FOREIGN_STREETS), size=count)
            ),
            "city": _gather(cities, countries),
        }
    )
    names = frame.select(pl.format("{}{} {} {}", "stem", "ending", "industry", "form")).to_series()
    unit = pl.Series(rng.integers(1, 80, size=count))
    addresses = frame.select(pl.format("Unit {}, {} {}, {}", unit, "no", "street", "city")).to_series()
    return _Parties(ids=ids, names=names, addresses=addresses, countries=_gather(codes, countries))


# --- the generator ------------------------------------------------------------------------------------------


@dataclass
class _Rows:
    """Per-declaration integer/float columns while they are being built."""

    day: IntArray
    importer: IntArray
    hs: IntArray
    origin: IntArray
    departure: IntArray
    transit: IntArray  # index into countries, -1 for none
    pattern: npt.NDArray[np.int8]
    price_factor: FloatArray
    fraud_probability: FloatArray
    critical_share: FloatArray  # probability that a fraud is critical (2)


PATTERNS = ("undervaluation", "false_origin", "importer_ring", "sanctioned_party", "drift")
_UNDERVALUATION, _FALSE_ORIGIN, _RING, _SANCTIONED, _DRIFT = range(1, 6)


def generate_traffic(config: GeneratorConfig) -> GeneratedTraffic:
    """Generate ``config.declarations`` declarations with planted fraud patterns and their ground truth."""
    return _Generator(config).run()


class _Generator:
    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        streams = np.random.SeedSequence(config.seed).spawn(8)
        self.rng_calendar, self.rng_parties, self.rng_rows, self.rng_values = (
            np.random.default_rng(s) for s in streams[:4]
        )
        self.rng_patterns, self.rng_labels, self.rng_text, self.rng_corrupt = (
            np.random.default_rng(s) for s in streams[4:]
        )
        self.n = config.declarations
        self.hs_codes = pl.Series([h[0] for h in tables.HS_CODES], dtype=pl.String)
        self.hs_index = {h[0]: i for i, h in enumerate(tables.HS_CODES)}
        self.country_codes = pl.Series([c[0] for c in tables.COUNTRIES], dtype=pl.String)
        self.country_index = {c[0]: i for i, c in enumerate(tables.COUNTRIES)}
        self.hs_popularity = _probabilities([h[4] for h in tables.HS_CODES])
        self.origin_weights = _probabilities([c[1] for c in tables.COUNTRIES])

    # Parties -----------------------------------------------------------------------------------------------

    def _make_parties(self) -> None:
        rng, n, days = self.rng_parties, self.n, self.config.days
        self.n_importers = max(20, int(n * 0.45))
        self.n_declarants = max(8, min(n // 30, 5000))
        self.n_sellers = max(20, int(n * 0.28))
        self.n_couriers = max(4, min(n // 450, 90))

        # Importers, most active first. Long-lived ones trade the whole period; others enter or leave.
        imp = self.n_importers
        self.importer_weights = _zipf(imp, 50.0)
        long_lived = rng.random(imp) < 0.72
        long_lived[0] = True
        first = np.where(long_lived, 0, rng.integers(0, days, size=imp))
        leaves = ~long_lived & (rng.random(imp) < 0.5)
        last = np.where(leaves, first + rng.integers(0, max(days, 1), size=imp), days - 1)
        self.importer_first = first.astype(np.int64)
        self.importer_last = np.minimum(last, days - 1).astype(np.int64)
        self.importer_long_lived = long_lived
        self.importer_source = rng.choice(len(tables.COUNTRIES), size=imp, p=self.origin_weights)
        self.importer_hs = rng.choice(len(tables.HS_CODES), size=(imp, 4), p=self.hs_popularity)
        self.importer_risky = rng.random(imp) < 0.08
        self.importer_price_level = np.exp(rng.normal(0.0, 0.15, size=imp))
        self.hs_risk = rng.normal(0.0, 0.35, size=len(tables.HS_CODES))
        self.used_importers = np.zeros(imp, dtype=np.bool_)
        declarant_weights = _zipf(self.n_declarants, 5.0)
        self.importer_declarant = rng.choice(self.n_declarants, size=(imp, 2), p=declarant_weights)
        self.declarant_weights = declarant_weights
        self.declarant_risky = rng.random(self.n_declarants + 1) < 0.05  # the last one is the ring's broker
        self.declarant_risky[-1] = False

        # Sellers abroad, grouped by country so a shipment's seller is usually in its origin country.
        self.seller_country = rng.choice(len(tables.COUNTRIES), size=self.n_sellers, p=self.origin_weights)
        self.seller_weights = _zipf(self.n_sellers, 40.0)
        self.importer_seller = _pick_in_groups(rng, self.seller_country, self.importer_source, self.n_sellers)
        self.courier_weights = _zipf(self.n_couriers, 1.0, 1.3)

        importer_ids = _base36_ids(rng, imp + len(tables.RING_NAMES), 7)
        ring_prefix = str(importer_ids[imp])[:5]
        ring_ids = pl.Series(
            [ring_prefix + tail for tail in _base36_ids(rng, len(tables.RING_NAMES), 2).to_list()],
            dtype=pl.String,
        )
        declarant_ids = _base36_ids(rng, self.n_declarants + 1, 7)
        seller_ids = _base36_ids(rng, self.n_sellers + len(tables.SANCTIONED), 7)
        courier_ids = _base36_ids(rng, self.n_couriers, 6)

        kr = self.country_index["KR"]
        importer_country = np.full(imp, kr)
        foreign = rng.random(imp) < 0.02
        importer_country[foreign] = self.importer_source[foreign]
        # A few importers of record are established abroad: their names and addresses are foreign too.
        abroad = _foreign_parties(rng, importer_country, importer_ids[:imp])
        foreign_mask = pl.Series(foreign)
        names = pl.select(
            pl.when(foreign_mask).then(abroad.names).otherwise(_korean_company_names(rng, imp))
        ).to_series()
        addresses = pl.select(
            pl.when(foreign_mask).then(abroad.addresses).otherwise(_korean_addresses(rng, imp))
        ).to_series()
        self.importers = _Parties(
            ids=pl.concat([importer_ids[:imp], ring_ids]),
            names=pl.concat([names, pl.Series(tables.RING_NAMES)]),
            addresses=pl.concat([addresses, pl.Series([tables.RING_ADDRESS] * len(ring_ids))]),
            countries=pl.concat(
                [_gather(self.country_codes, importer_country), pl.Series(["KR"] * len(ring_ids))]
            ),
        )
        self.ring_importers = np.arange(imp, imp + len(tables.RING_NAMES))
        surnames = pl.Series(tables.KOREAN_SURNAMES)
        brokers = pl.DataFrame(
            {
                "s": _gather(surnames, rng.integers(0, len(surnames), size=self.n_declarants)),
                "n": _korean_company_names(rng, self.n_declarants).str.extract(r"^(\w+)"),
                "k": _gather(
                    pl.Series(
                        ["Customs Service", "Customs Brokerage", "Customs Office", "Tariff Consulting"]
                    ),
                    rng.integers(0, 4, size=self.n_declarants),
                ),
            }
        ).select(pl.format("{} {} {}", "s", "n", "k"))
        self.declarant_ids = declarant_ids
        self.declarant_names = pl.concat([brokers.to_series(), pl.Series([tables.RING_DECLARANT_NAME])])
        self.ring_declarant = self.n_declarants

        sellers = _foreign_parties(rng, self.seller_country, seller_ids[: self.n_sellers])
        sanctioned_country = np.array([self.country_index[s[4]] for s in tables.SANCTIONED])
        sanctioned = _foreign_parties(rng, sanctioned_country, seller_ids[self.n_sellers :])
        self.sellers = _Parties(
            ids=seller_ids,
            names=pl.concat([sellers.names, pl.Series([s[3] for s in tables.SANCTIONED])]),
            addresses=pl.concat([sellers.addresses, sanctioned.addresses]),
            countries=pl.concat([sellers.countries, sanctioned.countries]),
        )
        self.sanctioned_sellers = np.arange(self.n_sellers, self.n_sellers + len(tables.SANCTIONED))
        self._add_ring_attributes(len(ring_ids))
        courier_names = pl.DataFrame(
            {
                "stem": _gather(pl.Series(tables.FOREIGN_STEMS), rng.integers(0, 30, size=self.n_couriers)),
                "kind": _gather(
                    pl.Series(["Express", "Air Courier", "Parcel Service", "Logistics"]),
                    rng.integers(0, 4, size=self.n_couriers),
                ),
            }
        ).select(pl.format("{} {}", "stem", "kind"))
        self.couriers = _Parties(
            ids=courier_ids,
            names=courier_names.to_series(),
            addresses=pl.Series([None] * self.n_couriers, dtype=pl.String),
            countries=pl.Series([None] * self.n_couriers, dtype=pl.String),
        )

    def _add_ring_attributes(self, count: int) -> None:
        """Per-importer attributes of the ring's importer ids, appended after the regular importers."""
        self.importer_first = np.concatenate([self.importer_first, np.zeros(count, dtype=np.int64)])
        self.importer_last = np.concatenate([self.importer_last, np.full(count, self.config.days - 1)])
        self.importer_risky = np.concatenate([self.importer_risky, np.zeros(count, dtype=np.bool_)])
        self.importer_price_level = np.concatenate([self.importer_price_level, np.ones(count)])
        self.importer_seller = np.concatenate(
            [self.importer_seller, np.repeat(self.importer_seller[:1], count)]
        )
        ring = np.full((count, 2), self.ring_declarant)
        self.importer_declarant = np.concatenate([self.importer_declarant, ring])

    # Rows --------------------------------------------------------------------------------------------------

    def _base_rows(self) -> _Rows:
        rng, n, days = self.rng_rows, self.n, self.config.days
        weights, self.holidays = _day_weights(self.config.start, days)
        self.day_weights = weights
        counts = self.rng_calendar.multinomial(n, _probabilities(weights))
        day = np.repeat(np.arange(days), counts).astype(np.int64)

        importer = rng.choice(self.n_importers, size=n, p=self.importer_weights)
        inactive = (day < self.importer_first[importer]) | (day > self.importer_last[importer])
        stayers = np.flatnonzero(self.importer_long_lived)
        stayer_weights = _probabilities(self.importer_weights[stayers])
        importer[inactive] = stayers[rng.choice(stayers.size, size=int(inactive.sum()), p=stayer_weights)]

        usual = rng.random(n) < 0.8
        slot = rng.choice(4, size=n, p=[0.5, 0.25, 0.15, 0.1])
        hs = np.where(
            usual,
            self.importer_hs[importer, slot],
            rng.choice(len(tables.HS_CODES), size=n, p=self.hs_popularity),
        )
        hs_origin = np.array([self.country_index[h[5]] for h in tables.HS_CODES])[hs]
        which = rng.random(n)
        origin = np.where(
            which < 0.35,
            hs_origin,
            np.where(
                which < 0.8,
                self.importer_source[importer],
                rng.choice(len(tables.COUNTRIES), size=n, p=self.origin_weights),
            ),
        )
        hubs = np.array([self.country_index[h] for h, _ in tables.HUBS])
        hub = hubs[rng.choice(hubs.size, size=n, p=_probabilities([w for _, w in tables.HUBS]))]
        via_hub = (rng.random(n) < 0.2) & (hub != origin)
        departure = np.where(via_hub, hub, origin)
        other_hub = hubs[rng.choice(hubs.size, size=n, p=_probabilities([w for _, w in tables.HUBS]))]
        transit = np.where(
            (rng.random(n) < 0.1) & (other_hub != origin) & (other_hub != departure), other_hub, -1
        )
        return _Rows(
            day=day,
            importer=importer,
            hs=hs,
            origin=origin,
            departure=departure,
            transit=transit,
            pattern=np.zeros(n, dtype=np.int8),
            price_factor=np.ones(n),
            fraud_probability=np.zeros(n),
            critical_share=np.full(n, 0.05),
        )

    def _pick(self, rows: _Rows, share: float, mask: BoolArray | None = None, minimum: int = 1) -> IntArray:
        """Row indices (sorted) of background rows to turn into a pattern: ``share`` of the eligible ones."""
        eligible = rows.pattern == 0
        if mask is not None:
            eligible &= mask
        candidates = np.flatnonzero(eligible)
        count = min(
            candidates.size, max(minimum, round(share * float(self.n if mask is None else mask.sum())))
        )
        if count == 0:
            return np.empty(0, dtype=np.int64)
        return np.sort(self.rng_patterns.choice(candidates, size=count, replace=False))

    def _group(self, share: float, minimum: int) -> IntArray:
        """A group of established, long-lived, mid-activity importers (not the very largest)."""
        imp = self.n_importers
        pool = np.flatnonzero(self.importer_long_lived & ~self.importer_risky[:imp] & ~self.used_importers)
        pool = pool[pool >= min(20, pool.size // 4)]
        if pool.size == 0:
            pool = np.arange(self.n_importers)
        size = min(pool.size, max(minimum, int(share * self.n_importers)))
        group = np.sort(self.rng_patterns.choice(pool, size=size, replace=False))
        self.used_importers[group] = True
        return group

    def _plant(self, rows: _Rows) -> dict[str, dict[str, Any]]:
        rng = self.rng_patterns
        patterns: dict[str, dict[str, Any]] = {}
        cn = self.country_index["CN"]

        # 1. Undervaluation: a few importers declare chosen HS codes from CN far below the HS6 x origin norm.
        group = self._group(0.004, 3)
        picked = self._pick(rows, SHARE_UNDERVALUED)
        rows.importer[picked] = rng.choice(group, size=picked.size)
        rows.hs[picked] = rng.choice([self.hs_index[h] for h in UNDERVALUED_HS], size=picked.size)
        rows.origin[picked] = cn
        rows.departure[picked] = np.where(rng.random(picked.size) < 0.9, cn, self.country_index["HK"])
        rows.transit[picked] = -1
        rows.price_factor[picked] = rng.uniform(0.08, 0.3, size=picked.size)
        rows.fraud_probability[picked] = 0.9
        rows.pattern[picked] = _UNDERVALUATION
        patterns["undervaluation"] = {
            "description": "declared unit value 70-92 % below the HS6 x origin norm on chosen HS codes "
            "from CN",
            "hs_codes": list(UNDERVALUED_HS),
            "origin": UNDERVALUED_ORIGIN,
            "price_factor": [0.08, 0.3],
            "importer_ids": self.importers.ids.gather(group).to_list(),
        }

        # 2. False origin: CN goods routed through CN or HK but declared as VN/MY/TH for the FTA rate.
        group = self._group(0.003, 3)
        picked = self._pick(rows, SHARE_FALSE_ORIGIN)
        rows.importer[picked] = rng.choice(group, size=picked.size)
        rows.hs[picked] = rng.choice([self.hs_index[h] for h in FALSE_ORIGIN_HS], size=picked.size)
        declared = np.array([self.country_index[c] for c in FALSE_ORIGIN_DECLARED])
        rows.origin[picked] = rng.choice(declared, size=picked.size)
        via_hk = rng.random(picked.size) < 0.4
        rows.departure[picked] = np.where(via_hk, self.country_index["HK"], cn)
        rows.transit[picked] = np.where(via_hk, cn, -1)
        rows.fraud_probability[picked] = 0.85
        rows.pattern[picked] = _FALSE_ORIGIN
        patterns["false_origin"] = {
            "description": "goods of CN origin declared as VN/MY/TH (preferential rate) while the route "
            "(departure country or transit countries) shows CN",
            "hs_codes": list(FALSE_ORIGIN_HS),
            "declared_origins": list(FALSE_ORIGIN_DECLARED),
            "true_origin": FALSE_ORIGIN_TRUE,
            "importer_ids": self.importers.ids.gather(group).to_list(),
        }

        # 3. Importer ring: one company behind several importer ids, used one after another, one declarant.
        picked = self._pick(rows, SHARE_RING, minimum=len(tables.RING_NAMES))
        variants = len(self.ring_importers)
        phase = rows.day[picked] / max(self.config.days, 1) * variants + rng.normal(
            0.0, 0.35, size=picked.size
        )
        variant = np.clip(np.floor(phase), 0, variants - 1).astype(np.int64)
        variant[:variants] = np.arange(min(variants, picked.size))  # every id appears at least once
        rows.importer[picked] = self.ring_importers[variant]
        rows.price_factor[picked] = rng.uniform(0.3, 0.6, size=picked.size)
        rows.fraud_probability[picked] = 0.8
        rows.pattern[picked] = _RING
        patterns["importer_ring"] = {
            "description": "importer ids that are id and name variants of one company (same address), "
            "all declared by one customs broker, undervaluing by 40-70 %",
            "importer_ids": self.importers.ids.gather(self.ring_importers).to_list(),
            "importer_names": list(tables.RING_NAMES),
            "address": tables.RING_ADDRESS,
            "declarant_id": self.declarant_ids[self.ring_declarant],
            "declarant_name": tables.RING_DECLARANT_NAME,
        }

        # 4. Sanctioned parties: sellers trading under near-variants of names on real sanctions lists.
        chosen = np.sort(rng.choice(len(tables.SANCTIONED), size=4, replace=False))
        picked = self._pick(rows, SHARE_SANCTIONED, minimum=chosen.size)
        which = rng.integers(0, chosen.size, size=picked.size)
        which[: chosen.size] = np.arange(min(chosen.size, picked.size))
        self.sanctioned_rows = (picked, self.sanctioned_sellers[chosen[which]])
        self.sanctioned_chosen = chosen
        rows.hs[picked] = rng.choice([self.hs_index[h] for h in SANCTIONED_HS], size=picked.size)
        seller_country = np.array([self.country_index[tables.SANCTIONED[i][4]] for i in chosen])[which]
        rows.origin[picked] = seller_country
        rows.departure[picked] = seller_country
        rows.fraud_probability[picked] = 0.9
        rows.critical_share[picked] = 0.7
        rows.pattern[picked] = _SANCTIONED
        patterns["sanctioned_party"] = {
            "description": "sellers whose names are near-variants of entries of public sanctions lists",
            "parties": [
                {
                    "role": "seller",
                    "party_id": self.sellers.ids[int(self.sanctioned_sellers[i])],
                    "name": tables.SANCTIONED[i][3],
                    "listed_name": tables.SANCTIONED[i][0],
                    "list": tables.SANCTIONED[i][1],
                    "list_entry": tables.SANCTIONED[i][2],
                }
                for i in chosen
            ],
        }

        # 5. Drift: an established group turns fraudulent on one HS code x origin only from the drift date on;
        # values and route look normal, so only inspection labels reveal it.
        drift_date = self.config.drift_date
        if drift_date is not None:
            drift_day = (drift_date - self.config.start).days
            group = self._group(0.003, 3)
            before = self._pick(rows, SHARE_DRIFT_BEFORE, rows.day < drift_day)
            after = self._pick(rows, SHARE_DRIFT_AFTER, rows.day >= drift_day)
            for picked, probability in ((before, 0.02), (after, 0.9)):
                rows.importer[picked] = rng.choice(group, size=picked.size)
                rows.hs[picked] = self.hs_index[DRIFT_HS]
                rows.origin[picked] = self.country_index[DRIFT_ORIGIN]
                rows.departure[picked] = self.country_index[DRIFT_ORIGIN]
                rows.transit[picked] = -1
                rows.fraud_probability[picked] = probability
                rows.pattern[picked] = _DRIFT
            self.drift_rows = (before, after)
            patterns["drift"] = {
                "description": "from the drift date on, an established importer group's HS 850760 shipments "
                "from MY are misdeclared (fraud rate 0.02 before, 0.9 after); values and route look normal",
                "drift_at": self.config.drift_at,
                "drift_date": drift_date.isoformat(),
                "hs_code": DRIFT_HS,
                "origin": DRIFT_ORIGIN,
                "importer_ids": self.importers.ids.gather(group).to_list(),
            }
        return patterns

    def run(self) -> GeneratedTraffic:
        self._make_parties()
        rows = self._base_rows()
        patterns = self._plant(rows)
        frame, fraud = self._columns(rows)
        lrns = frame["Declaration ID"]
        labels = pl.DataFrame(
            {
                "lrn": lrns,
                "pattern": _gather(
                    pl.Series([None, *PATTERNS], dtype=pl.String), rows.pattern.astype(np.int64)
                ),
                "fraud": frame["Fraud"],
                "critical_fraud": frame["Critical Fraud"],
            }
        )
        for code, name in enumerate(PATTERNS, start=1):
            if name not in patterns:
                continue
            mask = rows.pattern == code
            patterns[name]["declarations"] = int(mask.sum())
            patterns[name]["fraud_rate"] = round(float(fraud[mask].mean()), 4) if mask.any() else 0.0
            if name == "drift":
                before, after = self.drift_rows
                patterns[name]["lrns_before"] = lrns.gather(before).to_list()
                patterns[name]["lrns"] = lrns.gather(after).to_list()
                patterns[name]["fraud_rate_before"] = (
                    round(float(fraud[before].mean()), 4) if before.size else 0.0
                )
                patterns[name]["fraud_rate"] = round(float(fraud[after].mean()), 4) if after.size else 0.0
                patterns[name]["declarations"] = int(after.size)
            else:
                patterns[name]["lrns"] = lrns.filter(pl.Series(mask)).to_list()
        if "sanctioned_party" in patterns:
            picked, sellers = self.sanctioned_rows
            by_seller: dict[int, list[str]] = {}
            for row, seller in zip(picked.tolist(), sellers.tolist(), strict=True):
                by_seller.setdefault(seller, []).append(lrns[row])
            parties = patterns["sanctioned_party"]["parties"]
            for party, chosen in zip(parties, self.sanctioned_chosen.tolist(), strict=True):
                party["lrns"] = by_seller.get(int(self.sanctioned_sellers[chosen]), [])

        corrupt = make_corrupt_lines(self.rng_corrupt, frame, self.config.corrupt)
        truth: dict[str, Any] = {
            "generator": "borderwatch.synthetic",
            "format": 1,
            "config": {**asdict(self.config), "start": self.config.start.isoformat()},
            "period": {"start": self.config.start.isoformat(), "end": self.config.end.isoformat()},
            "declarations": self.n,
            "fraud_rate": round(float(fraud.mean()), 4),
            "background_fraud_rate": round(float(fraud[rows.pattern == 0].mean()), 4)
            if (rows.pattern == 0).any()
            else 0.0,
            "seasonality": {
                "weekday_factors": list(tables.WEEKDAY_FACTORS),
                "month_factors": list(tables.MONTH_FACTORS),
                "holiday_factor": tables.HOLIDAY_FACTOR,
                "holidays": [day.isoformat() for day in self.holidays],
            },
            "patterns": patterns,
            "corrupt_lines": [line.truth() for line in corrupt],
        }
        return GeneratedTraffic(
            config=self.config, frame=frame, truth=truth, labels=labels, corrupt_lines=corrupt
        )

    # Columns -----------------------------------------------------------------------------------------------

    def _columns(self, rows: _Rows) -> tuple[pl.DataFrame, npt.NDArray[np.int8]]:
        rng, n = self.rng_values, self.n
        hs_uv = np.array([h[2] for h in tables.HS_CODES])
        hs_rate = np.array([h[3] for h in tables.HS_CODES])
        premium = np.array([c[2] for c in tables.COUNTRIES])

        # Transport: dense valuable goods fly, bulk goes by sea; a little post, rail and other.
        p_air = np.clip(0.22 + 0.12 * np.log10(hs_uv[rows.hs] + 1.0), 0.05, 0.9)
        u = rng.random(n)
        mode_index = np.where(u < p_air, 1, 0)  # 0 sea, 1 air, 2.. other
        other = rng.random(n)
        threshold = 0.0
        for position, (_, share) in enumerate(tables.MODE_OTHER, start=2):
            hit = (other >= threshold) & (other < threshold + share)
            mode_index[hit] = position
            threshold += share
        mode_codes = pl.Series([tables.MODES_SEA, tables.MODES_AIR, *(m for m, _ in tables.MODE_OTHER)])
        sea = mode_index == 0
        air = mode_index == 1
        post = mode_index == 2
        office = np.empty(n, dtype=np.int64)
        office_tables = (tables.OFFICES_SEA, tables.OFFICES_AIR, tables.OFFICES_POST)
        office_codes = pl.Series([code for table in office_tables for code, _ in table])
        shift = 0
        for mask, table in (
            (~air & ~post, tables.OFFICES_SEA),
            (air, tables.OFFICES_AIR),
            (post, tables.OFFICES_POST),
        ):
            office[mask] = shift + _categorical(rng, table, int(mask.sum()))
            shift += len(table)

        # Mass (kg) by mode, unit value around the HS6 x origin norm, price = mass x unit value.
        log_typical = np.where(sea, np.log(1500.0), np.where(air, np.log(12.0), np.log(1.5)))
        mass = np.exp(rng.normal(log_typical, 2.0))
        mass = np.where(mass < 10.0, np.maximum(np.round(mass, 1), 0.1), np.round(mass))
        norm = hs_uv[rows.hs] * premium[rows.origin]
        unit_value = norm * self.importer_price_level[rows.importer] * np.exp(rng.normal(0.0, 0.45, size=n))

        # Parties on each declaration.
        declarant = self.importer_declarant[rows.importer, (rng.random(n) < 0.1).astype(np.int64)]
        stray = rng.random(n) < 0.04
        declarant[stray] = rng.choice(self.n_declarants, size=int(stray.sum()), p=self.declarant_weights)
        ring = rows.pattern == _RING
        declarant[ring] = self.ring_declarant
        seller_pick = rng.random(n)
        seller = np.where(
            seller_pick < 0.55,
            self.importer_seller[rows.importer],
            _pick_in_groups(rng, self.seller_country, rows.origin, self.n_sellers),
        )
        seller_missing = seller_pick > 0.9
        picked, sanctioned = self.sanctioned_rows
        seller[picked] = sanctioned
        seller_missing[picked] = False
        courier_share = np.where(sea, 0.08, np.where(air, 0.3, 0.42))
        has_courier = rng.random(n) < courier_share
        courier = rng.choice(self.n_couriers, size=n, p=self.courier_weights)

        # Duty: basic rate (A), WTO concession (C), preferential FTA rate where the origin has an agreement.
        fta_codes = [c[3] for c in tables.COUNTRIES]
        has_fta = np.array([bool(code) for code in fta_codes])[rows.origin]
        tax_draw = rng.random(n)
        use_fta = has_fta & (tax_draw < 0.4)
        use_c = ~use_fta & (tax_draw >= 0.4) & (tax_draw < 0.62)
        use_other = ~use_fta & (tax_draw >= 0.97)
        base_rate = hs_rate[rows.hs]
        tax_rate = base_rate.copy()
        tax_rate[use_c] = np.round(base_rate[use_c] * 0.8, 1)
        fta_rate = np.where(rng.random(n) < 0.6, 0.0, np.round(base_rate * 0.4, 1))
        tax_rate[use_fta] = fta_rate[use_fta]
        false_origin = rows.pattern == _FALSE_ORIGIN
        use_fta |= false_origin  # the point of the false origin is the preferential rate
        tax_rate[false_origin] = 0.0
        tax_type_codes = pl.Series(["A", "C", *tables.OTHER_TAX_TYPES, *fta_codes])
        tax_type = np.zeros(n, dtype=np.int64)
        tax_type[use_c] = 1
        tax_type[use_other] = 2 + rng.integers(0, len(tables.OTHER_TAX_TYPES), size=int(use_other.sum()))
        tax_type[use_fta] = 2 + len(tables.OTHER_TAX_TYPES) + rows.origin[use_fta]

        # Background fraud: risky importers and brokers, new traders, couriers, riskier goods; a share of
        # those frauds are undervalued too. Planted rows use their pattern's probability.
        new_trader = (rows.day - self.importer_first[rows.importer] < 30) & (
            self.importer_first[rows.importer] > 0
        )
        logit = (
            -2.85
            + 1.7 * self.importer_risky[rows.importer]
            + 0.9 * self.declarant_risky[declarant]
            + self.hs_risk[rows.hs]
            + 0.35 * (has_courier & ~sea)
            + 0.6 * new_trader
            + rng.normal(0.0, 0.3, size=n)
        )
        background = rows.pattern == 0
        probability = np.where(background, 1.0 / (1.0 + np.exp(-logit)), rows.fraud_probability)
        labels = self.rng_labels
        fraud = (labels.random(n) < probability).astype(np.int8)
        critical = np.where(fraud == 1, np.where(labels.random(n) < rows.critical_share, 2, 1), 0).astype(
            np.int8
        )
        background_under = background & (fraud == 1) & (labels.random(n) < 0.35)
        rows.price_factor[background_under] = labels.uniform(0.4, 0.8, size=int(background_under.sum()))
        price = np.maximum(np.round(mass * unit_value * rows.price_factor, 2), 0.01)

        text = self.rng_text
        containers = _container_ids(text, n, sea)
        transit = np.where(rows.transit >= 0, rows.transit, 0)
        dates = pl.Series(
            [self.config.start + timedelta(days=offset) for offset in range(self.config.days)], dtype=pl.Date
        )
        ids = pl.Series(_unique_ints(text, n, 10_000_000, 100_000_000)).cast(pl.String)
        frame = pl.DataFrame(
            {
                "Declaration ID": ids,
                "Date": _gather(dates, rows.day),
                "Office ID": _gather(office_codes, office),
                "Process Type": _gather(
                    _codes(tables.PROCESS_TYPES), _categorical(text, tables.PROCESS_TYPES, n)
                ),
                "Import Type": _gather(
                    _codes(tables.IMPORT_TYPES), _categorical(text, tables.IMPORT_TYPES, n)
                ),
                "Import Use": _gather(_codes(tables.IMPORT_USES), _categorical(text, tables.IMPORT_USES, n)),
                "Payment Type": _gather(
                    _codes(tables.PAYMENT_TYPES), _categorical(text, tables.PAYMENT_TYPES, n)
                ),
                "Mode of Transport": _gather(mode_codes, mode_index),
                "Declarant ID": _gather(self.declarant_ids, declarant),
                "Importer ID": _gather(self.importers.ids, rows.importer),
                "Seller ID": _gather(self.sellers.ids, seller),
                "Courier ID": _gather(self.couriers.ids, courier),
                "HS6 Code": _gather(self.hs_codes, rows.hs),
                "Country of Departure": _gather(self.country_codes, rows.departure),
                "Country of Origin": _gather(self.country_codes, rows.origin),
                "Tax Rate": tax_rate,
                "Tax Type": _gather(tax_type_codes, tax_type),
                "Country of Origin Indicator": _gather(
                    _codes(tables.ORIGIN_INDICATORS), _categorical(text, tables.ORIGIN_INDICATORS, n)
                ),
                "Net Mass": mass,
                "Item Price": price,
                "Fraud": fraud,
                "Critical Fraud": critical,
                "Importer Name": _gather(self.importers.names, rows.importer),
                "Importer Address": _gather(self.importers.addresses, rows.importer),
                "Importer Country": _gather(self.importers.countries, rows.importer),
                "Declarant Name": _gather(self.declarant_names, declarant),
                "Seller Name": _gather(self.sellers.names, seller),
                "Seller Address": _gather(self.sellers.addresses, seller),
                "Seller Country": _gather(self.sellers.countries, seller),
                "Courier Name": _gather(self.couriers.names, courier),
                "Transit Countries": _gather(self.country_codes, transit),
                "Goods Description": _gather(pl.Series([h[1] for h in tables.HS_CODES]), rows.hs),
                "Currency": pl.Series(["KRW"] * n, dtype=pl.String),
                "Container IDs": containers,
            }
        )
        nothing = pl.lit(None, dtype=pl.String)
        frame = (
            frame.with_columns(
                pl.when(pl.Series(seller_missing)).then(nothing).otherwise(pl.col(column)).alias(column)
                for column in ("Seller ID", "Seller Name", "Seller Address", "Seller Country")
            )
            .with_columns(
                pl.when(pl.Series(has_courier)).then(pl.col(column)).otherwise(nothing).alias(column)
                for column in ("Courier ID", "Courier Name")
            )
            .with_columns(
                pl.when(pl.Series(rows.transit >= 0))
                .then(pl.col("Transit Countries"))
                .otherwise(nothing)
                .alias("Transit Countries")
            )
        )
        return frame, fraud


def _container_ids(rng: np.random.Generator, n: int, sea: BoolArray) -> pl.Series:
    """ISO 6346 container numbers (owner code, serial, check digit), 1-3 for most sea shipments."""
    count = np.where(sea, rng.choice(4, size=n, p=[0.3, 0.5, 0.15, 0.05]), 0)
    owners = np.array([list(code.encode()) for code in tables.CONTAINER_OWNERS], dtype=np.int64)
    # Letter values skip multiples of 11 (A=10, B=12, ..., K=21, L=23, ..., U=32, ..., Z=38).
    plain = owners - ord("A") + 10
    letter_values = plain + (plain >= 11) + (plain >= 21) + (plain >= 31)
    owner_names = pl.Series(tables.CONTAINER_OWNERS)
    weights = 2 ** np.arange(10)
    slots: list[pl.Series] = []
    for slot in range(3):
        owner = rng.integers(0, len(tables.CONTAINER_OWNERS), size=n)
        serial = rng.integers(0, 1_000_000, size=n)
        digits = np.stack([(serial // 10**p) % 10 for p in range(5, -1, -1)], axis=1)
        check = (np.concatenate([letter_values[owner], digits], axis=1) * weights).sum(axis=1) % 11 % 10
        number = pl.DataFrame({"o": _gather(owner_names, owner), "s": serial, "c": check, "k": count > slot})
        slots.append(
            number.select(
                pl.when("k")
                .then(pl.format("{}{}{}", "o", pl.col("s").cast(pl.String).str.zfill(6), "c"))
                .alias(f"c{slot}")
            ).to_series()
        )
    joined = pl.DataFrame(slots).select(pl.concat_str(pl.all(), separator=" ", ignore_nulls=True))
    return joined.to_series().replace("", None).alias("Container IDs")
