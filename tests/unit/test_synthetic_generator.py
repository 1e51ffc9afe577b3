"""The generator's traffic: deterministic by seed, in the KCS layout and conventions, realistically shaped."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.ingest.schemas import country_codes
from borderwatch.synthetic import (
    COLUMNS,
    KCS_LAYOUT,
    GeneratedTraffic,
    GeneratorConfig,
    GeneratorError,
    generate_traffic,
    truth_path,
    write_traffic,
)
from tests.hypothesis_profiles import examples

KCS_HEADER = (
    "Declaration ID,Date,Office ID,Process Type,Import Type,Import Use,Payment Type,Mode of Transport,"
    "Declarant ID,Importer ID,Seller ID,Courier ID,HS6 Code,Country of Departure,Country of Origin,Tax Rate,"
    "Tax Type,Country of Origin Indicator,Net Mass,Item Price,Fraud,Critical Fraud"
)
# ISO 6346 letter values (multiples of 11 are skipped), written out rather than computed.
ISO6346_LETTERS = dict(
    zip(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        [
            10,
            12,
            13,
            14,
            15,
            16,
            17,
            18,
            19,
            20,
            21,
            23,
            24,
            25,
            26,
            27,
            28,
            29,
            30,
            31,
            32,
            34,
            35,
            36,
            37,
            38,
        ],
        strict=True,
    )
)


@pytest.fixture(scope="module")
def year() -> GeneratedTraffic:
    return generate_traffic(GeneratorConfig(declarations=30_000, seed=11, start=date(2024, 1, 1), days=366))


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    config = GeneratorConfig(declarations=3000, seed=5, days=60, drift_at=0.5, corrupt=7)
    for name in ("a", "b"):
        write_traffic(generate_traffic(config), tmp_path / f"{name}.csv")
    write_traffic(
        generate_traffic(GeneratorConfig(3000, 6, days=60, drift_at=0.5, corrupt=7)), tmp_path / "c.csv"
    )

    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.truth.json").read_bytes() == (tmp_path / "b.truth.json").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()


def test_the_file_starts_with_the_kcs_layout_and_adds_the_agreed_columns(tmp_path: Path) -> None:
    path = tmp_path / "traffic.csv"
    write_traffic(generate_traffic(GeneratorConfig(declarations=500, seed=1, days=30)), path)

    header = path.read_text(encoding="utf-8").splitlines()[0]

    assert header.startswith(KCS_HEADER + ",")
    assert header.split(",")[22:] == [
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
    ]
    assert truth_path(path) == tmp_path / "traffic.truth.json"
    assert truth_path(path).exists()


def test_a_clean_file_reads_back_through_the_kcs_frame_reader(tmp_path: Path) -> None:
    traffic = generate_traffic(GeneratorConfig(declarations=2000, seed=3, start=date(2025, 2, 1), days=45))
    path = tmp_path / "traffic.csv"
    write_traffic(traffic, path)

    declarations, outcomes = read_kcs_frames(path)

    assert declarations.height == outcomes.height == 2000
    assert declarations["lrn"].to_list() == traffic.frame["Declaration ID"].to_list()
    assert declarations["declared_on"].min() == date(2025, 2, 1)
    last = declarations["declared_on"].max()
    assert isinstance(last, date) and last <= date(2025, 2, 1) + timedelta(days=44)
    assert declarations["hs_code"].str.contains(r"^\d{6}$").all()
    assert outcomes["fraud"].sum() == traffic.frame["Fraud"].sum()
    assert declarations["customs_value"].to_list() == traffic.frame["Item Price"].to_list()


def test_values_follow_the_kcs_conventions(year: GeneratedTraffic) -> None:
    frame = year.frame
    countries = country_codes()

    assert frame.columns == list(COLUMNS)
    assert frame["Declaration ID"].is_unique().all()
    assert frame["Declaration ID"].str.contains(r"^[1-9]\d{7}$").all()
    for column in ("Importer ID", "Declarant ID"):
        assert frame[column].str.contains(r"^[0-9A-Z]{7}$").all(), column
    assert frame["Seller ID"].drop_nulls().str.contains(r"^[0-9A-Z]{7}$").all()
    assert frame["Courier ID"].drop_nulls().str.contains(r"^[0-9A-Z]{6}$").all()
    assert frame["HS6 Code"].str.contains(r"^\d{6}$").all()
    for column in ("Country of Origin", "Country of Departure", "Importer Country"):
        assert set(frame[column].unique().to_list()) <= countries, column
    transit = frame["Transit Countries"].drop_nulls().str.split(" ").explode()
    assert set(transit.to_list()) <= countries
    assert (frame["Net Mass"] > 0).all()
    assert (frame["Item Price"] > 0).all()
    assert (frame["Tax Rate"] >= 0).all()
    assert frame["Currency"].unique().to_list() == ["KRW"]
    assert set(frame["Mode of Transport"].unique().to_list()) <= {"10", "20", "30", "40", "50", "90"}
    assert set(frame["Fraud"].unique().to_list()) == {0, 1}
    assert ((frame["Critical Fraud"] > 0) == (frame["Fraud"] == 1)).all()
    assert frame["Importer Name"].null_count() == 0
    assert frame["Goods Description"].null_count() == 0


def test_container_ids_carry_valid_iso6346_check_digits(year: GeneratedTraffic) -> None:
    ids = year.frame["Container IDs"].drop_nulls().str.split(" ").explode().to_list()
    assert len(ids) > 1000
    for container in ids[:2000]:
        values = [ISO6346_LETTERS[c] for c in container[:4]] + [int(d) for d in container[4:10]]
        check = sum(value * 2**position for position, value in enumerate(values)) % 11 % 10
        assert int(container[10]) == check, container
    sea = year.frame.filter(pl.col("Mode of Transport") == "10")
    air = year.frame.filter(pl.col("Mode of Transport") == "40")
    assert sea["Container IDs"].null_count() < sea.height * 0.5
    assert air["Container IDs"].null_count() == air.height


def test_fraud_rate_is_in_the_agreed_band(year: GeneratedTraffic) -> None:
    rate = year.frame["Fraud"].cast(pl.Float64).mean()
    assert isinstance(rate, float)
    assert 0.10 <= rate <= 0.20
    assert year.truth["fraud_rate"] == pytest.approx(rate, abs=1e-4)


def test_volume_is_seasonal(year: GeneratedTraffic) -> None:
    daily = year.frame.group_by("Date").len().with_columns(pl.col("Date").dt.weekday().alias("weekday"))
    by_weekday = dict(daily.group_by("weekday").agg(pl.col("len").mean()).iter_rows())
    holidays = {date.fromisoformat(day) for day in year.truth["seasonality"]["holidays"]}

    assert by_weekday[1] > 1.4 * by_weekday[3]  # Monday carries the weekend's arrivals
    assert by_weekday[7] < 0.2 * by_weekday[3]  # quiet Sundays
    assert {date(2024, 8, 15), date(2024, 2, 10), date(2024, 9, 17)} <= holidays
    # Liberation Day 2024 (a Thursday) against the other Thursdays of the year.
    thursdays = daily.filter((pl.col("weekday") == 4) & ~pl.col("Date").is_in(list(holidays)))
    liberation = daily.filter(pl.col("Date") == date(2024, 8, 15)).select(pl.col("len").sum()).item()
    assert liberation < 0.4 * thursdays.select(pl.col("len").mean()).item()
    by_month = dict(year.frame.group_by(pl.col("Date").dt.month()).len().iter_rows())
    assert by_month[1] > by_month[2]


def test_party_activity_is_skewed_and_traders_are_long_lived(year: GeneratedTraffic) -> None:
    frame = year.frame
    per_importer = frame.group_by("Importer ID").len().sort("len", descending=True)
    top = per_importer.head(max(1, per_importer.height // 100))["len"].sum()

    assert top > 0.08 * frame.height  # the busiest 1 % of importers file many declarations
    assert (per_importer["len"] == 1).sum() > per_importer.height * 0.25  # and a long tail of one-offs
    first_month = set(frame.filter(pl.col("Date").dt.month() == 1)["Importer ID"].to_list())
    last_month = set(frame.filter(pl.col("Date").dt.month() == 12)["Importer ID"].to_list())
    busiest = per_importer.head(50)["Importer ID"].to_list()
    assert sum(importer in first_month and importer in last_month for importer in busiest) >= 45
    # Importers keep to their usual broker.
    main_share = (
        frame.group_by("Importer ID", "Declarant ID")
        .len()
        .group_by("Importer ID")
        .agg((pl.col("len").max() / pl.col("len").sum()).alias("share"), pl.col("len").sum().alias("n"))
        .filter(pl.col("n") >= 20)
    )
    assert main_share["share"].median() > 0.7  # type: ignore[operator]


def test_bad_configurations_are_refused_with_one_sentence() -> None:
    with pytest.raises(GeneratorError, match="at least 1"):
        GeneratorConfig(declarations=0)
    with pytest.raises(GeneratorError, match="strictly between 0 and 1"):
        GeneratorConfig(declarations=10, drift_at=1.5)
    with pytest.raises(GeneratorError, match="at least 1 day"):
        GeneratorConfig(declarations=10, days=0)
    with pytest.raises(GeneratorError, match="cannot be negative"):
        GeneratorConfig(declarations=10, corrupt=-1)
    with pytest.raises(GeneratorError, match="8-digit"):
        GeneratorConfig(declarations=30_000_000)


@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    declarations=st.integers(1, 400),
    days=st.integers(1, 40),
    corrupt=st.integers(0, 6),
    drift_at=st.one_of(st.none(), st.floats(0.05, 0.95)),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_small_configuration_gives_exactly_what_was_asked(
    declarations: int, days: int, corrupt: int, drift_at: float | None, seed: int
) -> None:
    config = GeneratorConfig(
        declarations=declarations,
        seed=seed,
        start=date(2024, 3, 1),
        days=days,
        drift_at=drift_at,
        corrupt=corrupt,
    )
    traffic = generate_traffic(config)
    frame = traffic.frame

    assert frame.height == declarations
    assert frame["Declaration ID"].is_unique().all()
    assert frame["Date"].min() >= config.start  # type: ignore[operator]
    assert frame["Date"].max() <= config.end  # type: ignore[operator]
    assert frame["Date"].is_sorted()
    lines = [line.line for line in traffic.corrupt_lines]
    assert len(lines) == corrupt
    assert lines == sorted(set(lines))
    assert all(2 <= line <= declarations + corrupt + 1 for line in lines)
    assert not {line.lrn for line in traffic.corrupt_lines} & set(frame["Declaration ID"].to_list())
    assert traffic.labels.height == declarations


def test_every_row_has_as_many_fields_as_the_header(tmp_path: Path) -> None:
    path = tmp_path / "traffic.csv"
    write_traffic(generate_traffic(GeneratorConfig(declarations=1500, seed=9, days=20)), path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, strict=True))
    assert len(rows) == 1501
    assert {len(row) for row in rows} == {len(KCS_LAYOUT) + 12}
