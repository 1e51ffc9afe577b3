"""Synthetic ANPR traffic at land border crossings, with planted patterns and their ground truth.

    from borderwatch.synthetic import CrossingConfig, generate_crossings
    world = generate_crossings(CrossingConfig(reads=1_000_000, seed=7))
    world.reads, world.cameras, world.declarations, world.truth

The world: ``crossings`` border crossings about 66 km apart along one border, each with an outbound and an
inbound camera at the border and three approach cameras 11, 28 and 44 km inland on its road. A trip passes
the approach cameras and the border (outbound), or the border and the approach cameras (inbound), at 70-100
km/h. Each camera misses 3 % of passages; 0.4 % of reads are misread (a look-alike swapped, any character
changed, or, for fleet vehicles registered in sequence, a sister vehicle's plate read instead).

Volumes: the US BTS border-crossing statistics (public domain; not on this machine) count about 0.5-1.5
million personal vehicles and 50-250 thousand trucks a month at each of the busiest US ports; one million
reads here (about 4 reads a crossing) is one such port's month, spread over six smaller crossings.

Background vehicles: commuters (out in the morning, back nine hours later, on workdays), occasional travellers
(1-3 trips a month, back 1-4 days later), shoppers (2-5 short return trips a month), and trucks in fleets of
5-20 with plates in sequence (4-12 trips a month, each declared, the declaration lodged up to 3 hours before
or after the crossing, a few up to 8 hours before).

Planted patterns, each with its ground truth in ``truth``:

1. ``clones`` — a plate on two vehicles: a copy driving on a road at least 3 crossings away, at times that
   overlap the genuine vehicle's trips.
2. ``convoys`` — a scout car and a truck travelling together 15-45 s apart on 4-6 trips.
3. ``shuttles`` — vans making 10-20 short return trips (0.5-3 h) a month with nothing declared.
4. ``undeclared`` — fleet trucks that cross once or twice without a declaration.
5. ``mismatches`` — declarations naming a fleet truck while another truck of another fleet crosses.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
DIGITS = "0123456789"
_FORMATS = {
    "GB": "AA99AAA",
    "FR": "AA999AA",
    "DE": "AA9999",
    "NL": "99AAA9",
    "ES": "9999AAA",
    "PL": "AA99999",
}
_COUNTRIES = ("GB", "FR", "DE", "NL", "ES", "PL")
_LOOKALIKE = {
    "0": "O",
    "O": "0",
    "1": "I",
    "I": "1",
    "8": "B",
    "B": "8",
    "5": "S",
    "S": "5",
    "2": "Z",
    "Z": "2",
}
APPROACH_KM = (44.0, 28.0, 11.0)
KM_PER_DEGREE_LAT = 111.2
MISS_RATE = 0.03
MISREAD_RATE = 0.004


@dataclass(frozen=True)
class CrossingConfig:
    reads: int = 100_000
    days: int = 30
    crossings: int = 6
    start: dt.datetime = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    seed: int = 7
    clones: int = 30
    convoys: int = 30
    shuttles: int = 30
    undeclared: int = 30
    mismatches: int = 30


@dataclass
class CrossingWorld:
    reads: pl.DataFrame
    cameras: pl.DataFrame
    declarations: pl.DataFrame
    truth: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Vehicle:
    plate: str
    country: str
    kind: str
    road: int
    fleet: list[str] | None = None


class _Builder:
    def __init__(self, config: CrossingConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.rows: list[tuple[str, dt.datetime, str, str, float, str | None]] = []
        self.declarations: list[tuple[str, str, str, str, dt.datetime]] = []
        self.plates: set[str] = set()
        self.busy: dict[tuple[str, str], dt.datetime] = {}  # when each vehicle is back from its last trip
        self.end = config.start + dt.timedelta(days=config.days)

    # ------------------------------------------------------------------ plates and vehicles
    def plate(self, country: str | None = None) -> tuple[str, str]:
        country = country or self.rng.choice(_COUNTRIES)
        while True:
            text = "".join(self.rng.choice(LETTERS if c == "A" else DIGITS) for c in _FORMATS[country])
            if text not in self.plates:
                self.plates.add(text)
                return text, country

    def fleet(self, size: int, road: int) -> list[_Vehicle]:
        base, country = self.plate(self.rng.choice(("GB", "FR", "DE", "PL", "ES")))
        stem = base[:-2]
        plates = []
        for n in range(size):
            last = (
                f"{n:02d}" if _FORMATS[country][-2:] == "99" else LETTERS[n // len(LETTERS)] + LETTERS[n % 23]
            )
            text = stem + last
            self.plates.add(text)
            plates.append(text)
        return [_Vehicle(p, country, "truck", road, fleet=plates) for p in plates]

    # ------------------------------------------------------------------ passages
    def read(self, vehicle: _Vehicle, camera: str, at: dt.datetime, direction: str | None) -> None:
        if self.rng.random() < MISS_RATE or at >= self.end or at < self.config.start:
            return
        text, confidence = vehicle.plate, self.rng.uniform(0.82, 0.99)
        if self.rng.random() < MISREAD_RATE:
            text, confidence = self.misread(vehicle), self.rng.uniform(0.55, 0.9)
        self.rows.append((camera, at, text, vehicle.country, round(confidence, 3), direction))

    def misread(self, vehicle: _Vehicle) -> str:
        text = vehicle.plate
        if vehicle.fleet and self.rng.random() < 0.6:
            return self.rng.choice([p for p in vehicle.fleet if p != text])
        i = self.rng.randrange(len(text))
        if text[i] in _LOOKALIKE and self.rng.random() < 0.7:
            return text[:i] + _LOOKALIKE[text[i]] + text[i + 1 :]
        return text[:i] + self.rng.choice(LETTERS + DIGITS) + text[i + 1 :]

    def trip(
        self,
        vehicle: _Vehicle,
        at: dt.datetime,
        direction: str,
        *,
        speed: float | None = None,
        road: int | None = None,
    ) -> dt.datetime:
        """One passage of the road to or from the border; returns when it reached the border (or left it)."""
        road = vehicle.road if road is None else road
        speed = speed or self.rng.uniform(70, 100)
        cameras = [f"X{road}-A{k}" for k in (3, 2, 1)]
        legs = [APPROACH_KM[0] - APPROACH_KM[1], APPROACH_KM[1] - APPROACH_KM[2], APPROACH_KM[2]]
        if direction == "out":
            t = at
            for camera, leg in zip(cameras, legs, strict=True):
                self.read(vehicle, camera, t, None)
                t += dt.timedelta(hours=leg / speed)
            self.read(vehicle, f"X{road}-OUT", t, "out")
            return t
        self.read(vehicle, f"X{road}-IN", at, "in")
        t = at
        for camera, leg in zip(reversed(cameras), reversed(legs), strict=True):
            t += dt.timedelta(hours=leg / speed)
            self.read(vehicle, camera, t, None)
        return at

    def free(self, start: dt.datetime, *vehicles: _Vehicle) -> dt.datetime:
        """``start``, or a little after the vehicles are back from their last trips (one place at a time)."""
        busy = max((self.busy.get((v.plate, v.kind), start) for v in vehicles), default=start)
        return start if start >= busy else busy + dt.timedelta(hours=self.rng.uniform(1, 6))

    def round_trip(self, vehicle: _Vehicle, start: dt.datetime, stay: dt.timedelta) -> dt.datetime | None:
        """Out and back; the time it crossed out, or ``None`` when the trip would start after the period."""
        start = self.free(start, vehicle)
        if start >= self.end:
            return None
        border = self.trip(vehicle, start, "out")
        self.trip(vehicle, border + stay, "in")
        self.busy[(vehicle.plate, vehicle.kind)] = border + stay + dt.timedelta(hours=1)
        return border

    def declare(
        self, vehicle: _Vehicle, at: dt.datetime, *, plate: str | None = None, road: int | None = None
    ) -> str:
        lrn = f"VD{len(self.declarations) + 1:07d}"
        jitter = self.rng.uniform(-8, -3) if self.rng.random() < 0.1 else self.rng.uniform(-3, 3)
        crossing = f"X{vehicle.road if road is None else road}"
        declared = at + dt.timedelta(hours=jitter)
        self.declarations.append((lrn, plate or vehicle.plate, vehicle.country, crossing, declared))
        return lrn

    def moments(self, count: int, hours: tuple[float, float] = (0.0, 24.0)) -> list[dt.datetime]:
        return sorted(self.moment(hours=hours) for _ in range(count))

    def moment(self, day: int | None = None, hours: tuple[float, float] = (0.0, 24.0)) -> dt.datetime:
        day = self.rng.randrange(self.config.days) if day is None else day
        return self.config.start + dt.timedelta(days=day, hours=self.rng.uniform(*hours))


def _cameras(config: CrossingConfig) -> pl.DataFrame:
    rows: list[tuple[str, str, str | None, float, float]] = []
    for road in range(config.crossings):
        lon, lat = 0.9 * road, 49.0
        rows.append((f"X{road}-OUT", f"X{road}", "out", lat, lon))
        rows.append((f"X{road}-IN", f"X{road}", "in", lat, lon + 0.0005))
        for k, km in zip((1, 2, 3), reversed(APPROACH_KM), strict=True):
            rows.append((f"X{road}-A{k}", f"X{road}", None, lat + km / KM_PER_DEGREE_LAT, lon + 0.01 * k))
    return pl.DataFrame(
        rows,
        schema={
            "camera_id": pl.String,
            "crossing": pl.String,
            "direction": pl.String,
            "latitude": pl.Float64,
            "longitude": pl.Float64,
        },
        orient="row",
    )


def _commuter(b: _Builder, road: int, workdays: list[int]) -> None:
    vehicle = _Vehicle(*b.plate(), "commuter", road)
    leave = b.rng.uniform(6.0, 8.5)
    for day in workdays:
        if b.rng.random() < 0.9:
            start = b.moment(day, (leave - 0.15, leave + 0.15))
            b.round_trip(vehicle, start, dt.timedelta(hours=b.rng.uniform(8.5, 9.5)))


def _occasional(
    b: _Builder,
    kind: str,
    trips: tuple[int, int],
    hours: tuple[float, float],
    stay_hours: tuple[float, float],
) -> None:
    vehicle = _Vehicle(*b.plate(), kind, b.rng.randrange(b.config.crossings))
    for start in b.moments(b.rng.randint(*trips), hours):
        b.round_trip(vehicle, start, dt.timedelta(hours=b.rng.uniform(*stay_hours)))


def _fleet(b: _Builder, road: int) -> None:
    for vehicle in b.fleet(b.rng.randint(5, 20), road):
        for start in b.moments(b.rng.randint(4, 12)):
            stay = b.rng.uniform(2, 5) if b.rng.random() < 0.5 else b.rng.uniform(24, 72)
            border = b.round_trip(vehicle, start, dt.timedelta(hours=stay))
            if border is not None:
                b.declare(vehicle, border)


def _background(b: _Builder, budget: int) -> None:
    """Background vehicles until about ``budget`` reads."""
    cfg = b.config
    workdays = [d for d in range(cfg.days) if (cfg.start + dt.timedelta(days=d)).weekday() < 5]
    while len(b.rows) < budget:
        kind = b.rng.random()
        road = b.rng.randrange(cfg.crossings)
        if kind < 0.3:
            _commuter(b, road, workdays)
        elif kind < 0.55:
            for _ in range(20):
                _occasional(b, "car", (1, 3), (6, 22), (24, 96))
        elif kind < 0.7:
            for _ in range(10):
                _occasional(b, "shopper", (2, 5), (9, 18), (1, 3))
        else:
            _fleet(b, road)


def _clones(b: _Builder) -> list[dict[str, Any]]:
    """The genuine vehicle commutes; its copy drives on a distant road while it does, on four workdays."""
    cfg = b.config
    workdays = [d for d in range(cfg.days) if (cfg.start + dt.timedelta(days=d)).weekday() < 5]
    clones = []
    for _ in range(cfg.clones):
        road = b.rng.randrange(cfg.crossings)
        far = (road + 3 + b.rng.randrange(max(cfg.crossings - 5, 1))) % cfg.crossings
        genuine = _Vehicle(*b.plate(), "commuter", road)
        copy = _Vehicle(genuine.plate, genuine.country, "clone", far)
        for day in workdays:
            b.round_trip(genuine, b.moment(day, (7.0, 8.0)), dt.timedelta(hours=9))
        for day in b.rng.sample(workdays, 4):
            b.round_trip(copy, b.moment(day, (6.5, 8.5)), dt.timedelta(hours=b.rng.uniform(1, 3)))
        clones.append({"plate": genuine.plate, "roads": [road, far]})
    return clones


def _convoy_trip(b: _Builder, scout: _Vehicle, truck: _Vehicle, start: dt.datetime) -> None:
    speed, gap = b.rng.uniform(75, 90), dt.timedelta(seconds=b.rng.uniform(15, 45))
    border = b.trip(scout, start, "out", speed=speed)
    b.trip(truck, start + gap, "out", speed=speed)
    b.declare(truck, border)
    back = border + dt.timedelta(hours=b.rng.uniform(2, 30))
    b.trip(scout, back, "in", speed=speed)
    b.trip(truck, back + gap, "in", speed=speed)
    for vehicle in (scout, truck):
        b.busy[(vehicle.plate, vehicle.kind)] = back + dt.timedelta(hours=1)


def _convoys(b: _Builder) -> list[dict[str, Any]]:
    """A scout car first, a truck 15-45 s behind at every camera, on 4-6 trips; a few trips alone."""
    convoys = []
    for _ in range(b.config.convoys):
        road = b.rng.randrange(b.config.crossings)
        scout = _Vehicle(*b.plate(), "scout", road)
        truck = _Vehicle(*b.plate(), "truck", road)
        for planned in b.moments(b.rng.randint(4, 6)):
            start = b.free(planned, scout, truck)
            if start < b.end:
                _convoy_trip(b, scout, truck, start)
        for vehicle in (scout, truck):
            for start in b.moments(b.rng.randint(0, 2)):
                border = b.round_trip(vehicle, start, dt.timedelta(hours=b.rng.uniform(3, 48)))
                if vehicle is truck and border is not None:
                    b.declare(truck, border)
        convoys.append({"plates": sorted([scout.plate, truck.plate]), "road": road})
    return convoys


def _shuttles(b: _Builder) -> list[dict[str, Any]]:
    """Vans making 10-20 short return trips, nothing declared."""
    shuttles = []
    for _ in range(b.config.shuttles):
        van = _Vehicle(*b.plate(), "shuttle", b.rng.randrange(b.config.crossings))
        days = sorted(b.rng.sample(range(b.config.days), b.rng.randint(10, 20)))
        for day in days:
            b.round_trip(van, b.moment(day, (6, 20)), dt.timedelta(hours=b.rng.uniform(0.5, 3)))
        shuttles.append({"plate": van.plate, "trips": len(days)})
    return shuttles


def _undeclared(b: _Builder) -> list[dict[str, Any]]:
    """Fleet trucks whose every trip is declared but one or two."""
    undeclared = []
    for vehicle in b.fleet(b.config.undeclared, b.rng.randrange(b.config.crossings)):
        trips = b.rng.randint(6, 12)
        skipped = set(b.rng.sample(range(trips), b.rng.randint(1, 2)))
        crossed = []
        for n, start in enumerate(b.moments(trips)):
            border = b.round_trip(vehicle, start, dt.timedelta(hours=b.rng.uniform(2, 48)))
            if border is None:  # pushed past the period by its earlier trips
                continue
            if n in skipped:
                crossed.append(border.isoformat())
            else:
                b.declare(vehicle, border)
        if crossed:  # only skips that happened within the period are planted patterns
            undeclared.append({"plate": vehicle.plate, "undeclared_at": crossed})
    return undeclared


def _mismatches(b: _Builder) -> list[dict[str, Any]]:
    """Declarations naming a truck of one fleet while a truck of another crosses."""
    mismatches = []
    for named in b.fleet(b.config.mismatches, 0):
        road = b.rng.randrange(b.config.crossings)
        crossing = _Vehicle(*b.plate(), "truck", road)
        border = b.round_trip(crossing, b.moment(hours=(0, 20)), dt.timedelta(hours=b.rng.uniform(2, 48)))
        if border is not None:
            lrn = b.declare(named, border, road=road)
            mismatches.append({"lrn": lrn, "declared": named.plate, "crossed": crossing.plate})
    return mismatches


def _plant(b: _Builder) -> dict[str, Any]:
    return {
        "clones": _clones(b),
        "convoys": _convoys(b),
        "shuttles": _shuttles(b),
        "undeclared": _undeclared(b),
        "mismatches": _mismatches(b),
    }


def generate_crossings(config: CrossingConfig) -> CrossingWorld:
    """Reads, cameras, declared vehicles and the ground truth, deterministic for a config."""
    b = _Builder(config)
    truth = _plant(b)
    _background(b, config.reads)
    reads = pl.DataFrame(
        b.rows,
        schema={
            "camera_id": pl.String,
            "read_at": pl.Datetime("us", "UTC"),
            "plate": pl.String,
            "country": pl.String,
            "confidence": pl.Float64,
            "direction": pl.String,
        },
        orient="row",
    ).sort("read_at")
    reads = reads.with_columns(pl.format("R{}", pl.int_range(1, reads.height + 1)).alias("read_id"))
    declarations = pl.DataFrame(
        b.declarations,
        schema={
            "lrn": pl.String,
            "plate": pl.String,
            "country": pl.String,
            "crossing": pl.String,
            "declared_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )
    truth["config"] = {
        "reads": reads.height,
        "days": config.days,
        "crossings": config.crossings,
        "seed": config.seed,
        "start": config.start.isoformat(),
    }
    return CrossingWorld(reads=reads, cameras=_cameras(config), declarations=declarations, truth=truth)


def write_crossings(world: CrossingWorld, folder: Path) -> dict[str, Path]:
    """``cameras.csv``, ``reads.csv``, ``declared.csv`` and ``truth.json`` in ``folder`` (the files
    ``borderwatch vehicles cameras|ingest|declarations`` read)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in ("cameras.csv", "reads.csv", "declared.csv", "truth.json")}
    world.cameras.with_columns(
        pl.lit(None, pl.String).alias("lane"), pl.col("camera_id").alias("name")
    ).write_csv(paths["cameras.csv"])
    iso = "%Y-%m-%dT%H:%M:%S%.3fZ"
    world.reads.select(
        "read_id",
        "camera_id",
        pl.col("read_at").dt.strftime(iso),
        "plate",
        "country",
        "confidence",
        "direction",
    ).write_csv(paths["reads.csv"])
    world.declarations.with_columns(pl.col("declared_at").dt.strftime(iso)).write_csv(paths["declared.csv"])
    paths["truth.json"].write_text(json.dumps(world.truth, indent=2), encoding="utf-8")
    return paths
