"""The patterns investigators look for in plate reads, in Polars over millions of reads.

Inputs are frames: reads (``plate``, ``camera_id``, ``read_at`` UTC), cameras (``camera_id``, ``crossing``,
``latitude``, ``longitude``, ``direction``) and declared vehicles (``lrn``, ``plate``, ``crossing``,
``declared_at``). Each detector returns ``Finding`` objects: a code, the plates, points in [0, 1]
and the evidence an analyst needs, as a scoring reason does.

- **cloned plate**: reads of one plate split into *tracks*, each read joining the largest track it could
  have driven from (distance over time at most ``max_speed_kmh``). A misread makes a track of one read; a
  copy of the plate on the road makes a second track of several reads. Flagged: two tracks of two reads or
  more.
- **convoy**: two plates within ``convoy_window_s`` at the same camera, at ``convoy_min_cameras`` distinct
  cameras on ``convoy_min_legs`` separate legs (reads more than an hour apart start a new leg), and together
  on at least ``convoy_min_share`` of the legs on which both passed the same camera within the hour (so two
  commuters on a busy road, together now and then among many shared mornings, do not count).
- **shuttle**: out and back through the same crossing within ``shuttle_max_hours`` with no declaration of the
  vehicle near that time, ``shuttle_min_trips`` times or more.
- **undeclared crossing**: a crossing without a declaration by a vehicle whose crossings are otherwise
  declared (at least ``declared_min`` of them and ``declared_share`` of all).
- **transport mismatch**: a declaration whose vehicle was not read on the crossing's road near the declared
  time; the vehicles that crossed there then, undeclared, are its evidence.

A crossing counts only when an approach camera of the same crossing also read the plate within
``corroboration_minutes`` (a border read alone may be a misread of another vehicle). Declarations match
reads by confusion key (``plates.confusion_key``), so a look-alike misread is still the declared vehicle.
The ``naive_*`` functions are the baselines the benchmark runs beside them: fixed distance and speed, plain
co-occurrence and crossing counts, exact plates in a fixed window.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from borderwatch.vehicles.plates import KEY_MAP

CLONED, CONVOY, SHUTTLE, UNDECLARED, MISMATCH = (
    "cloned_plate",
    "convoy",
    "shuttle_trips",
    "undeclared_crossing",
    "transport_mismatch",
)
PATTERNS = (CLONED, CONVOY, SHUTTLE, UNDECLARED, MISMATCH)
_EARTH_KM = 6371.0
AFTER_HOURS = 3.0  # a declaration lodged after the crossing (a correction, a late filing)


@dataclass(frozen=True)
class PatternPolicy:
    version: str = "vehicles-patterns-1"
    max_speed_kmh: float = 150.0
    min_distance_km: float = 5.0
    convoy_window_s: float = 60.0
    convoy_min_cameras: int = 3
    convoy_min_legs: int = 4
    convoy_min_share: float = 0.5
    shuttle_max_hours: float = 4.0
    shuttle_min_trips: int = 8
    declaration_window_hours: float = 12.0
    declared_min: int = 3
    declared_share: float = 0.6
    corroboration_minutes: float = 30.0
    points: dict[str, float] = field(
        default_factory=lambda: {CLONED: 0.8, CONVOY: 0.5, SHUTTLE: 0.5, UNDECLARED: 0.6, MISMATCH: 0.7}
    )


@dataclass(frozen=True)
class Finding:
    """One pattern found: its code, the plates (one, or two for a convoy), points and evidence."""

    code: str
    plates: tuple[str, ...]
    points: float
    evidence: dict[str, Any]
    lrn: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "plates": list(self.plates),
            "points": self.points,
            "evidence": self.evidence,
            "lrn": self.lrn,
        }


def key_expr(column: str = "plate") -> pl.Expr:
    """``plates.confusion_key`` as a Polars expression (the same table, vectorised)."""
    return pl.col(column).str.replace_many(list(KEY_MAP), list(KEY_MAP.values()))


def _km(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    rad = math.pi / 180
    a = ((lat2 - lat1) * rad / 2).sin() ** 2 + (lat1 * rad).cos() * (lat2 * rad).cos() * (
        (lon2 - lon1) * rad / 2
    ).sin() ** 2
    return 2 * _EARTH_KM * a.sqrt().arcsin()


def km_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_KM * math.asin(math.sqrt(min(a, 1.0)))


def _as_enum(reads: pl.DataFrame, column: str = "plate") -> pl.Expr:
    """``column`` as an Enum of its sorted values: sorts, groups and as-of joins on it run on integers (in
    the same order as the text), several times faster than on the text over a million reads."""
    return pl.col(column).cast(pl.Enum(reads[column].unique().drop_nulls().sort()))


def _located(reads: pl.DataFrame, cameras: pl.DataFrame, *, text: bool = True) -> pl.DataFrame:
    located = (
        reads.lazy()
        .select(_as_enum(reads), "camera_id", "read_at")
        .join(cameras.lazy().select("camera_id", "latitude", "longitude"), on="camera_id", how="inner")
        .sort("plate", "read_at")
    )
    return (located.with_columns(pl.col("plate").cast(pl.String)) if text else located).collect()


def impossible_transitions(reads: pl.DataFrame, cameras: pl.DataFrame, policy: PatternPolicy) -> pl.DataFrame:
    """Consecutive reads of a plate too far apart for the time between them (the naive clone test)."""
    located = _located(reads, cameras, text=False)  # sorted by plate and time: the previous row, same plate
    prev = [pl.col(c).shift(1).alias(f"prev_{c}") for c in ("camera_id", "read_at", "latitude", "longitude")]
    return (
        located.lazy()
        .with_columns(prev)
        .filter(pl.col("plate") == pl.col("plate").shift(1))
        .with_columns(
            _km(
                pl.col("prev_latitude"), pl.col("prev_longitude"), pl.col("latitude"), pl.col("longitude")
            ).alias("km"),
            ((pl.col("read_at") - pl.col("prev_read_at")).dt.total_microseconds() / 3.6e9).alias("hours"),
        )
        .filter(
            (pl.col("km") > policy.min_distance_km) & (pl.col("km") > policy.max_speed_kmh * pl.col("hours"))
        )
        .with_columns(pl.col("plate").cast(pl.String))
        .collect()
    )


def naive_clones(reads: pl.DataFrame, cameras: pl.DataFrame, policy: PatternPolicy) -> set[str]:
    """Baseline: every plate with one impossible transition (fixed distance and speed)."""
    return set(impossible_transitions(reads, cameras, policy)["plate"].unique().to_list())


def _tracks(rows: Sequence[tuple[dt.datetime, float, float, str]], policy: PatternPolicy) -> list[list[int]]:
    """Reads (time order) split into tracks: each read joins the largest track it could have come from."""
    tracks: list[list[int]] = []
    for i, (at, lat, lon, _) in enumerate(rows):
        best = None
        for t, members in enumerate(tracks):
            last_at, last_lat, last_lon, _ = rows[members[-1]]
            km = km_between(last_lat, last_lon, lat, lon)
            hours = (at - last_at).total_seconds() / 3600
            if (km <= policy.min_distance_km or km <= policy.max_speed_kmh * hours) and (
                best is None or len(members) > len(tracks[best])
            ):
                best = t
        if best is None:
            tracks.append([i])
        else:
            tracks[best].append(i)
    return tracks


def cloned_plates(reads: pl.DataFrame, cameras: pl.DataFrame, policy: PatternPolicy) -> list[Finding]:
    """Plates driven by two vehicles at once: two tracks of several reads each."""
    suspects = impossible_transitions(reads, cameras, policy)["plate"].unique()
    if suspects.is_empty():
        return []
    located = _located(reads.filter(pl.col("plate").is_in(suspects.implode())), cameras)
    findings = []
    for (plate,), group in located.group_by("plate"):
        rows = list(group.select("read_at", "latitude", "longitude", "camera_id").iter_rows())
        tracks = [t for t in _tracks(rows, policy) if len(t) >= 2]
        if len(tracks) < 2:
            continue
        main, other = sorted(tracks, key=len, reverse=True)[:2]
        # The closest pair in time between the two tracks is the evidence an analyst checks first.
        a, b = min(((i, j) for i in main for j in other), key=lambda ij: abs(rows[ij[0]][0] - rows[ij[1]][0]))
        km = km_between(rows[a][1], rows[a][2], rows[b][1], rows[b][2])
        hours = abs((rows[b][0] - rows[a][0]).total_seconds()) / 3600
        findings.append(
            Finding(
                code=CLONED,
                plates=(str(plate),),
                points=policy.points[CLONED],
                evidence={
                    "tracks": len(tracks),
                    "reads": [len(main), len(other)],
                    "seen": [[rows[a][3], rows[a][0].isoformat()], [rows[b][3], rows[b][0].isoformat()]],
                    "km": round(km, 1),
                    "minutes": round(hours * 60, 1),
                    "needed_kmh": round(km / hours, 0) if hours > 0 else None,
                    "max_speed_kmh": policy.max_speed_kmh,
                },
            )
        )
    return findings


def _coded(reads: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series, pl.Series]:
    """Reads as integer codes: ``plate`` and ``camera`` index the sorted plates and cameras (returned beside),
    ``read_at`` stays a time. Joins, sorts and groups on integers cost a fraction of those on text."""
    plates = reads["plate"].unique().sort()
    cameras = reads["camera_id"].unique().sort()
    codes = reads.select(
        pl.col("plate").cast(pl.Enum(plates)).to_physical().cast(pl.Int64).alias("plate"),
        pl.col("camera_id").cast(pl.Enum(cameras)).to_physical().cast(pl.Int64).alias("camera"),
        pl.col("read_at").cast(pl.Datetime("us", "UTC")),
    )
    return codes, plates, cameras


def _pair_codes(
    reads: pl.DataFrame, window_s: float
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series, pl.Series]:
    """Pairs of different plates at the same camera within ``window_s``, as integer codes: ``plate_a`` <
    ``plate_b`` (indexes into the sorted plates, so the order of the codes is the order of the plates),
    ``camera`` (index into the sorted cameras) and ``read_at`` (the earlier read), each pair once; with the
    plates and the cameras by code; and the coded reads (:func:`_coded`).

    Reads sorted by camera and time (NumPy's lexsort on integer codes: sorting a million rows of strings
    costs ten times more); each is compared with the next 1, 2, ... reads, keeping only those still within
    the window at each step (NumPy over a shrinking set of positions): the work is the number of pairs found
    plus the reads, where a self-join on time buckets costs the square of each bucket's reads.
    """
    codes, plates, cameras = _coded(reads)
    camera, plate = codes["camera"].to_numpy(), codes["plate"].to_numpy()
    micros = codes["read_at"].dt.epoch("us").to_numpy()
    order = np.lexsort((micros, camera))
    camera, micros, plate = camera[order], micros[order], plate[order]
    limit = int(window_s * 1e6)
    active = np.arange(len(order) - 1)
    first: list[np.ndarray] = []
    second: list[np.ndarray] = []
    k = 1
    while active.size:
        other = active + k
        keep = other < len(order)
        active, other = active[keep], other[keep]
        near = (camera[other] == camera[active]) & (micros[other] - micros[active] <= limit)
        active, other = active[near], other[near]
        differ = plate[active] != plate[other]
        first.append(active[differ])
        second.append(other[differ])
        k += 1
    i = np.concatenate(first) if first else np.empty(0, dtype=np.int64)
    j = np.concatenate(second) if second else np.empty(0, dtype=np.int64)
    pairs = pl.DataFrame(
        {
            "plate_a": np.minimum(plate[i], plate[j]),
            "plate_b": np.maximum(plate[i], plate[j]),
            "camera": camera[i],
            "read_at": micros[i],
        },
        schema={"plate_a": pl.Int64, "plate_b": pl.Int64, "camera": pl.Int64, "read_at": pl.Int64},
    ).unique()
    return pairs.with_columns(pl.col("read_at").cast(pl.Datetime("us", "UTC"))), codes, plates, cameras


def co_occurrences(reads: pl.DataFrame, window_s: float) -> pl.DataFrame:
    """Pairs of different plates at the same camera within ``window_s``: plate_a < plate_b, camera, day, time
    (:func:`_pair_codes` with the plates and cameras as text)."""
    pairs, _, plates, cameras = _pair_codes(reads, window_s)
    return pairs.select(
        plates.gather(pairs["plate_a"]).alias("plate_a"),
        plates.gather(pairs["plate_b"]).alias("plate_b"),
        cameras.gather(pairs["camera"]).alias("camera_id"),
        pl.col("read_at").dt.date().alias("day"),
        "read_at",
    )


def naive_convoys(reads: pl.DataFrame, policy: PatternPolicy, *, min_count: int = 3) -> set[tuple[str, str]]:
    """Baseline: pairs seen together within the window ``min_count`` times (plain co-occurrence counts)."""
    pairs, _, plates, _ = _pair_codes(reads, policy.convoy_window_s)
    counted = pairs.group_by("plate_a", "plate_b").len().filter(pl.col("len") >= min_count)
    return set(
        zip(
            plates.gather(counted["plate_a"]).to_list(),
            plates.gather(counted["plate_b"]).to_list(),
            strict=True,
        )
    )


def _legs(events: pl.LazyFrame, time: str) -> pl.LazyFrame:
    """Each pair's events numbered by leg: sorted in time, a gap of more than an hour starts a new leg (the
    numbers run on across pairs, so only their count per pair means anything)."""
    new_pair = (pl.col("plate_a") != pl.col("plate_a").shift(1)) | (
        pl.col("plate_b") != pl.col("plate_b").shift(1)
    )
    gap = (pl.col(time).diff().dt.total_seconds() > 3600) | new_pair
    return events.sort("plate_a", "plate_b", time).with_columns(
        gap.fill_null(value=True).cum_sum().alias("leg")
    )


def convoys(reads: pl.DataFrame, policy: PatternPolicy) -> list[Finding]:
    pairs, codes, plates, cameras = _pair_codes(reads, policy.convoy_window_s)
    # A pair needs one co-occurrence per leg at least: most pairs of a busy road meet once or twice.
    often = pairs.group_by("plate_a", "plate_b").len().filter(pl.col("len") >= policy.convoy_min_legs)
    coded = (
        _legs(
            pairs.lazy().join(often.lazy().select("plate_a", "plate_b"), on=["plate_a", "plate_b"]), "read_at"
        )
        .group_by("plate_a", "plate_b")
        .agg(
            pl.col("camera").n_unique().alias("cameras"),
            pl.col("leg").n_unique().alias("legs"),
            pl.len().alias("together"),
            pl.col("camera").unique().sort().alias("camera_list"),
            pl.col("read_at").dt.date().unique().sort().alias("day_list"),
        )
        .filter((pl.col("cameras") >= policy.convoy_min_cameras) & (pl.col("legs") >= policy.convoy_min_legs))
        .collect()
    )
    if coded.is_empty():
        return []
    # Opportunity: legs on which both passed the same camera within the hour, together or not.
    involved = pl.concat([coded["plate_a"], coded["plate_b"]]).unique().implode()
    seen = codes.lazy().filter(pl.col("plate").is_in(involved))
    pair_keys = coded.lazy().select("plate_a", "plate_b")
    side_a = pair_keys.join(seen.rename({"plate": "plate_a"}), on="plate_a").sort("read_at")
    side_b = pair_keys.join(seen.rename({"plate": "plate_b", "read_at": "read_at_b"}), on="plate_b").sort(
        "read_at_b"
    )
    shared = side_a.join_asof(
        side_b,
        left_on="read_at",
        right_on="read_at_b",
        by=["plate_a", "plate_b", "camera"],
        strategy="nearest",
        tolerance=dt.timedelta(hours=1),
        check_sortedness=False,
    ).filter(pl.col("read_at_b").is_not_null())
    opportunity = (
        _legs(shared, "read_at")
        .group_by("plate_a", "plate_b")
        .agg(pl.col("leg").n_unique().alias("shared_legs"))
    ).collect()
    scored = (
        coded.join(opportunity, on=["plate_a", "plate_b"], how="left")
        .with_columns((pl.col("legs") / pl.col("shared_legs")).alias("share"))
        .filter(pl.col("share") >= policy.convoy_min_share)
    )
    camera_names = cameras.to_list()
    scored = scored.with_columns(
        plates.gather(scored["plate_a"]).alias("plate_a"),
        plates.gather(scored["plate_b"]).alias("plate_b"),
        pl.Series(
            "camera_list",
            [[camera_names[c] for c in listed] for listed in scored["camera_list"].to_list()],
            dtype=pl.List(pl.String),
        ),
    )
    return [
        Finding(
            code=CONVOY,
            plates=(row["plate_a"], row["plate_b"]),
            points=policy.points[CONVOY],
            evidence={
                "cameras": row["camera_list"],
                "days": [d.isoformat() for d in row["day_list"]],
                "legs_together": row["legs"],
                "legs_both_within_the_hour": row["shared_legs"],
                "share": round(row["share"], 2),
                "times_together": row["together"],
                "window_s": policy.convoy_window_s,
            },
        )
        for row in scored.iter_rows(named=True)
    ]


def crossings(reads: pl.DataFrame, cameras: pl.DataFrame, policy: PatternPolicy) -> pl.DataFrame:
    """Border crossings (reads at a camera with a direction) corroborated on the road: an outbound crossing by
    an approach camera of the same crossing within ``corroboration_minutes`` before it, an inbound one within
    as long after it. Columns: plate, crossing, direction, read_at."""
    located = (
        reads.lazy()
        .select(_as_enum(reads), "camera_id", "read_at")
        .join(
            cameras.lazy().select(
                "camera_id", _as_enum(cameras, "crossing"), pl.col("direction").alias("camera_direction")
            ),
            on="camera_id",
        )
    )
    approach = (
        located.filter(pl.col("camera_direction").is_null())
        .select("plate", "crossing", pl.col("read_at").alias("approach_at"))
        .sort("approach_at")
    )
    found = []
    for direction, strategy in (("out", "backward"), ("in", "forward")):
        border = located.filter(pl.col("camera_direction") == direction).sort("read_at")
        found.append(
            border.join_asof(
                approach,
                left_on="read_at",
                right_on="approach_at",
                by=["plate", "crossing"],
                strategy=strategy,  # type: ignore[arg-type]
                tolerance=dt.timedelta(minutes=policy.corroboration_minutes),
                check_sortedness=False,  # sorted by time above; the check cannot see that within groups
            )
            .filter(pl.col("approach_at").is_not_null())
            .select("plate", "crossing", pl.col("camera_direction").alias("direction"), "read_at")
        )
    return (
        pl.concat(found)
        .sort("plate", "read_at")
        .with_columns(pl.col("plate").cast(pl.String), pl.col("crossing").cast(pl.String))
        .collect()
    )


def _match_in_order(
    crossings_at: Sequence[int], declared_at: Sequence[int], lrns: Sequence[str], before: int, after: int
) -> list[str | None]:
    """One vehicle's crossings and declarations, both in time order (µs since the epoch), matched in order:
    each crossing takes the next unused declaration lodged from ``before`` before it to ``after`` after it
    (declarations come in the order the vehicle crosses; a declaration too old for the crossing is left
    unused)."""
    found: list[str | None] = []
    d, n = 0, len(declared_at)
    for at in crossings_at:
        while d < n and declared_at[d] < at - before:
            d += 1
        if d < n and declared_at[d] <= at + after:
            found.append(lrns[d])
            d += 1
        else:
            found.append(None)
    return found


def _with_declared(moves: pl.DataFrame, declarations: pl.DataFrame, window_hours: float) -> pl.DataFrame:
    """``moves`` (plate, read_at, ...) with ``declared`` and its ``lrn``: each declaration covers one crossing
    of its vehicle (by confusion key), matched in time order, lodged at most ``window_hours`` before the
    crossing or ``AFTER_HOURS`` after it. Grouped in Polars; the in-order matching, which is sequential, in
    one pass of Python over each key's lists of integers."""
    keyed = moves.with_row_index("move").with_columns(key_expr().alias("key"))
    by_key = {
        key: (times, lrns)
        for key, times, lrns in declarations.select(
            key_expr().alias("key"), pl.col("declared_at").dt.epoch("us").alias("at"), "lrn"
        )
        .sort("at")
        .group_by("key", maintain_order=True)
        .agg("at", "lrn")
        .iter_rows()
    }
    grouped = (
        keyed.filter(pl.col("key").is_in(list(by_key)))
        .select("key", "move", pl.col("read_at").dt.epoch("us").alias("at"))
        .sort("at")
        .group_by("key", maintain_order=True)
        .agg("move", "at")
    )
    matched_moves: list[int] = []
    matched_lrns: list[str | None] = []
    before, after = int(window_hours * 3.6e9), int(AFTER_HOURS * 3.6e9)
    for key, moves_of, times in grouped.iter_rows():
        declared_at, lrns = by_key[key]
        matched_moves.extend(moves_of)
        matched_lrns.extend(_match_in_order(times, declared_at, lrns, before, after))
    hits = pl.DataFrame(
        {"move": matched_moves, "lrn": matched_lrns}, schema={"move": pl.UInt32, "lrn": pl.String}
    )
    return keyed.join(hits, on="move", how="left").with_columns(pl.col("lrn").is_not_null().alias("declared"))


def outbound_marked(
    reads: pl.DataFrame,
    cameras: pl.DataFrame,
    declarations: pl.DataFrame,
    policy: PatternPolicy,
    moves: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Outbound crossings marked with their declarations (:func:`_with_declared`): what undeclared crossings
    and transport mismatches both start from (``find_patterns`` computes it once for both)."""
    moves = crossings(reads, cameras, policy) if moves is None else moves
    return _with_declared(
        moves.filter(pl.col("direction") == "out"), declarations, policy.declaration_window_hours
    )


def shuttles(
    reads: pl.DataFrame,
    cameras: pl.DataFrame,
    declarations: pl.DataFrame,
    policy: PatternPolicy,
    moves: pl.DataFrame | None = None,
) -> list[Finding]:
    moves = crossings(reads, cameras, policy) if moves is None else moves
    trips = (
        moves.with_columns(
            pl.col("direction").shift(-1).over("plate").alias("next_direction"),
            pl.col("crossing").shift(-1).over("plate").alias("next_crossing"),
            pl.col("read_at").shift(-1).over("plate").alias("back_at"),
        )
        .filter(
            (pl.col("direction") == "out")
            & (pl.col("next_direction") == "in")
            & (pl.col("next_crossing") == pl.col("crossing"))
            & ((pl.col("back_at") - pl.col("read_at")).dt.total_seconds() <= policy.shuttle_max_hours * 3600)
        )
        .select("plate", "crossing", "read_at", "back_at")
    )
    trips = _with_declared(trips, declarations, policy.declaration_window_hours)
    counted = (
        trips.group_by("plate")
        .agg(
            (~pl.col("declared")).sum().alias("undeclared"),
            pl.len().alias("short_trips"),
            pl.col("crossing").unique().sort().alias("crossings"),
            ((pl.col("back_at") - pl.col("read_at")).dt.total_seconds() / 3600)
            .median()
            .alias("median_hours"),
        )
        .filter(pl.col("undeclared") >= policy.shuttle_min_trips)
    )
    return [
        Finding(
            code=SHUTTLE,
            plates=(row["plate"],),
            points=policy.points[SHUTTLE],
            evidence={
                "short_return_trips": row["short_trips"],
                "undeclared": row["undeclared"],
                "median_hours_away": round(row["median_hours"], 1),
                "crossings": row["crossings"],
                "max_hours": policy.shuttle_max_hours,
            },
        )
        for row in counted.iter_rows(named=True)
    ]


def naive_shuttles(reads: pl.DataFrame, cameras: pl.DataFrame, policy: PatternPolicy) -> set[str]:
    """Baseline: vehicles with ``shuttle_min_trips`` outbound border reads (a plain crossing count)."""
    out = cameras.filter(pl.col("direction") == "out")["camera_id"].implode()
    counted = reads.filter(pl.col("camera_id").is_in(out)).group_by("plate").len()
    return set(counted.filter(pl.col("len") >= policy.shuttle_min_trips)["plate"].to_list())


def undeclared_crossings(
    reads: pl.DataFrame,
    cameras: pl.DataFrame,
    declarations: pl.DataFrame,
    policy: PatternPolicy,
    moves: pl.DataFrame | None = None,
    marked: pl.DataFrame | None = None,
) -> list[Finding]:
    if marked is None:
        marked = outbound_marked(reads, cameras, declarations, policy, moves)
    per_plate = (
        marked.group_by("plate")
        .agg(
            pl.col("declared").sum().alias("declared_n"),
            pl.len().alias("crossings"),
            pl.col("read_at").filter(~pl.col("declared")).sort().alias("undeclared_at"),
            pl.col("crossing").filter(~pl.col("declared")).alias("undeclared_crossings"),
        )
        .filter(
            (pl.col("declared_n") >= policy.declared_min)
            & (pl.col("declared_n") >= policy.declared_share * pl.col("crossings"))
            & (pl.col("declared_n") < pl.col("crossings"))
        )
    )
    return [
        Finding(
            code=UNDECLARED,
            plates=(row["plate"],),
            points=policy.points[UNDECLARED],
            evidence={
                "declared_crossings": row["declared_n"],
                "crossings": row["crossings"],
                "undeclared": [
                    [crossing, at.isoformat()]
                    for crossing, at in zip(row["undeclared_crossings"], row["undeclared_at"], strict=False)
                ],
            },
        )
        for row in per_plate.iter_rows(named=True)
    ]


def naive_undeclared(
    reads: pl.DataFrame, cameras: pl.DataFrame, declarations: pl.DataFrame, *, window_hours: float = 1.0
) -> set[str]:
    """Baseline: a vehicle with a declaration ever, at the outbound border with none of its exact plate
    within ``window_hours``."""
    out = cameras.filter(pl.col("direction") == "out")["camera_id"].implode()
    border = reads.filter(pl.col("camera_id").is_in(out)).select("plate", "read_at").with_row_index("move")
    declared_plates = declarations["plate"].unique().implode()
    border = border.filter(pl.col("plate").is_in(declared_plates))
    hits = (
        border.join(declarations.select("plate", "declared_at"), on="plate")
        .filter((pl.col("read_at") - pl.col("declared_at")).dt.total_seconds().abs() <= window_hours * 3600)
        .select("move")
        .unique()
    )
    return set(border.join(hits, on="move", how="anti")["plate"].unique().to_list())


def transport_mismatches(
    reads: pl.DataFrame,
    cameras: pl.DataFrame,
    declarations: pl.DataFrame,
    policy: PatternPolicy,
    moves: pl.DataFrame | None = None,
    marked: pl.DataFrame | None = None,
) -> list[Finding]:
    window = policy.declaration_window_hours * 3600
    road = (
        reads.lazy()
        .select("plate", "camera_id", "read_at")
        .join(cameras.lazy().select("camera_id", "crossing"), on="camera_id")
    )
    keyed_reads = road.with_columns(key_expr().alias("key"))
    decl = declarations.lazy().with_columns(key_expr().alias("key"))
    seen = (
        decl.join(keyed_reads.select("key", "crossing", "read_at"), on=["key", "crossing"])
        .filter((pl.col("read_at") - pl.col("declared_at")).dt.total_seconds().abs() <= window)
        .select("lrn")
        .unique()
    )
    missing = decl.join(seen, on="lrn", how="anti").collect()
    if missing.is_empty():
        return []
    if marked is None:
        marked = outbound_marked(reads, cameras, declarations, policy, moves)
    undeclared = marked.filter(~pl.col("declared"))
    candidates = (
        missing.lazy()
        .select("lrn", "crossing", "declared_at")
        .join(undeclared.lazy().select("plate", "crossing", "read_at"), on="crossing")
        .filter((pl.col("read_at") - pl.col("declared_at")).dt.total_seconds().abs() <= window)
        .group_by("lrn")
        .agg(pl.col("plate").unique().sort().head(5).alias("crossed_undeclared"))
        .collect()
    )
    crossed = {row["lrn"]: row["crossed_undeclared"] for row in candidates.iter_rows(named=True)}
    return [
        Finding(
            code=MISMATCH,
            plates=(row["plate"],),
            points=policy.points[MISMATCH],
            lrn=row["lrn"],
            evidence={
                "declared_plate": row["plate"],
                "crossing": row["crossing"],
                "declared_at": row["declared_at"].isoformat(),
                "not_read_within_hours": policy.declaration_window_hours,
                "crossed_undeclared": crossed.get(row["lrn"], []),
            },
        )
        for row in missing.iter_rows(named=True)
    ]


def naive_mismatches(
    reads: pl.DataFrame, cameras: pl.DataFrame, declarations: pl.DataFrame, *, window_hours: float = 1.0
) -> set[str]:
    """Baseline: declarations whose exact plate was not read at the crossing's border within the window."""
    border = cameras.filter(pl.col("direction").is_not_null()).select("camera_id", "crossing")
    at_border = reads.select("plate", "camera_id", "read_at").join(border, on="camera_id")
    seen = (
        declarations.join(at_border, on=["plate", "crossing"])
        .filter((pl.col("read_at") - pl.col("declared_at")).dt.total_seconds().abs() <= window_hours * 3600)
        .select("lrn")
        .unique()
    )
    return set(declarations.join(seen, on="lrn", how="anti")["lrn"].to_list())


def find_patterns(
    reads: pl.DataFrame,
    cameras: pl.DataFrame,
    declarations: pl.DataFrame,
    policy: PatternPolicy | None = None,
) -> list[Finding]:
    """Every detector over the same reads."""
    policy = policy or PatternPolicy()
    moves = crossings(reads, cameras, policy)
    marked = outbound_marked(reads, cameras, declarations, policy, moves)
    return [
        *cloned_plates(reads, cameras, policy),
        *convoys(reads, policy),
        *shuttles(reads, cameras, declarations, policy, moves),
        *undeclared_crossings(reads, cameras, declarations, policy, moves, marked),
        *transport_mismatches(reads, cameras, declarations, policy, moves, marked),
    ]
