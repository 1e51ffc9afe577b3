"""The planted fraud patterns are really in the data, measurable, and recorded in the truth."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from rapidfuzz import fuzz

from borderwatch.ingest.schemas import country_codes
from borderwatch.synthetic import (
    CORRUPT_KINDS,
    GeneratedTraffic,
    GeneratorConfig,
    generate_traffic,
    write_traffic,
)


@pytest.fixture(scope="module")
def traffic() -> GeneratedTraffic:
    config = GeneratorConfig(
        declarations=20_000, seed=2024, start=date(2024, 1, 1), days=180, drift_at=0.5, corrupt=10
    )
    return generate_traffic(config)


def _rows(traffic: GeneratedTraffic, pattern: str) -> pl.DataFrame:
    lrns = traffic.truth["patterns"][pattern]["lrns"]
    return traffic.frame.filter(pl.col("Declaration ID").is_in(lrns))


def _background(traffic: GeneratedTraffic) -> pl.DataFrame:
    labelled = traffic.frame.join(
        traffic.labels.select("lrn", "pattern"), left_on="Declaration ID", right_on="lrn"
    )
    return labelled.filter(pl.col("pattern").is_null())


def test_truth_and_labels_agree(traffic: GeneratedTraffic) -> None:
    labels = traffic.labels
    for name, pattern in traffic.truth["patterns"].items():
        labelled = set(labels.filter(pl.col("pattern") == name)["lrn"].to_list())
        recorded = set(pattern["lrns"]) | set(pattern.get("lrns_before", []))
        assert labelled == recorded, name
        assert pattern["declarations"] == len(pattern["lrns"])
    assert labels["fraud"].to_list() == traffic.frame["Fraud"].to_list()


def test_planted_patterns_are_strongly_enriched_in_fraud(traffic: GeneratedTraffic) -> None:
    background = _background(traffic)["Fraud"].cast(pl.Float64).mean()
    assert isinstance(background, float)
    assert 0.04 < background < 0.12
    for name in ("undervaluation", "false_origin", "importer_ring", "sanctioned_party", "drift"):
        rows = _rows(traffic, name)
        assert rows.height >= 20, name
        rate = rows["Fraud"].cast(pl.Float64).mean()
        assert isinstance(rate, float)
        assert rate > 0.65, name
        assert traffic.truth["patterns"][name]["fraud_rate"] == pytest.approx(rate, abs=1e-4)


def test_undervalued_declarations_sit_far_below_the_hs6_origin_norm(traffic: GeneratedTraffic) -> None:
    truth = traffic.truth["patterns"]["undervaluation"]
    unit_value = (pl.col("Item Price") / pl.col("Net Mass")).alias("unit_value")
    norm = (
        _background(traffic)
        .filter(pl.col("Fraud") == 0)
        .group_by("HS6 Code", "Country of Origin")
        .agg(unit_value.median().alias("norm"))
    )
    planted = _rows(traffic, "undervaluation").with_columns(unit_value)

    assert set(planted["HS6 Code"].unique().to_list()) == set(truth["hs_codes"])
    assert planted["Country of Origin"].unique().to_list() == [truth["origin"]]
    assert set(planted["Importer ID"].unique().to_list()) <= set(truth["importer_ids"])
    ratios = planted.join(norm, on=["HS6 Code", "Country of Origin"]).select(
        pl.col("unit_value") / pl.col("norm")
    )
    assert ratios.height == planted.height
    assert ratios.to_series().median() < 0.3  # type: ignore[operator]
    assert (ratios.to_series() < 0.6).mean() > 0.9  # type: ignore[operator]
    # The same goods declared by everyone else sit at the norm.
    others = (
        _background(traffic)
        .filter(pl.col("HS6 Code").is_in(truth["hs_codes"]) & (pl.col("Fraud") == 0))
        .with_columns(unit_value)
        .join(norm, on=["HS6 Code", "Country of Origin"])
    )
    assert 0.8 < (others["unit_value"] / others["norm"]).median() < 1.25  # type: ignore[operator]


def test_false_origin_declarations_show_cn_on_the_route(traffic: GeneratedTraffic) -> None:
    truth = traffic.truth["patterns"]["false_origin"]
    planted = _rows(traffic, "false_origin")
    on_route = (pl.col("Country of Departure") == "CN") | pl.col("Transit Countries").fill_null(
        ""
    ).str.contains("CN")

    assert set(planted["Country of Origin"].unique().to_list()) <= set(truth["declared_origins"])
    assert set(planted["HS6 Code"].unique().to_list()) <= set(truth["hs_codes"])
    assert planted.select(on_route.all()).item()
    assert (planted["Tax Rate"] == 0).all()
    assert planted["Tax Type"].str.starts_with("F").all()  # the preferential rate the false origin buys
    honest = _background(traffic).filter(pl.col("Country of Origin").is_in(truth["declared_origins"]))
    assert honest.height > 100
    assert honest.select(on_route.mean()).item() < 0.1


def test_the_ring_is_one_company_behind_several_ids_with_one_declarant(traffic: GeneratedTraffic) -> None:
    truth = traffic.truth["patterns"]["importer_ring"]
    planted = _rows(traffic, "importer_ring")
    ids = truth["importer_ids"]

    assert len(ids) == len(set(ids)) >= 5
    assert set(planted["Importer ID"].unique().to_list()) == set(ids)
    assert planted["Declarant ID"].unique().to_list() == [truth["declarant_id"]]
    assert planted["Importer Address"].unique().to_list() == [truth["address"]]
    assert set(planted["Importer Name"].unique().to_list()) == set(truth["importer_names"])
    assert len({importer[:5] for importer in ids}) == 1  # id variants
    names = truth["importer_names"]
    assert all(fuzz.token_set_ratio(names[0].lower(), name.lower()) > 70 for name in names)
    # The broker declares for the ring only, and the ring never uses another broker.
    by_broker = traffic.frame.filter(pl.col("Declarant ID") == truth["declarant_id"])
    assert set(by_broker["Importer ID"].unique().to_list()) == set(ids)
    # The ids follow one another in time (a new id when the old one gets known).
    first_use = planted.group_by("Importer ID").agg(pl.col("Date").median()).sort("Date")
    assert first_use["Importer ID"].to_list() == ids


LEGAL_FORMS = {"CORPORATION", "CORP", "CO", "COMPANY", "LTD", "LIMITED", "MGMT", "MANAGEMENT"}


def _core(name: str) -> str:
    """A name without case, punctuation, spaces and legal-form words: what a screener compares."""
    words = "".join(c if c.isalnum() else " " for c in name.upper()).split()
    return "".join(word for word in words if word not in LEGAL_FORMS)


def test_sanctioned_sellers_use_near_variants_of_listed_names(traffic: GeneratedTraffic) -> None:
    truth = traffic.truth["patterns"]["sanctioned_party"]
    assert len(truth["parties"]) >= 3
    for party in truth["parties"]:
        name, listed = party["name"], party["listed_name"]
        assert name != listed
        assert name.upper() != listed
        assert fuzz.ratio(_core(name), _core(listed)) > 80, (name, listed)
        assert party["list"].startswith("OFAC SDN")
        rows = traffic.frame.filter(pl.col("Declaration ID").is_in(party["lrns"]))
        assert rows.height == len(party["lrns"]) >= 1
        assert rows["Seller ID"].unique().to_list() == [party["party_id"]]
        assert rows["Seller Name"].unique().to_list() == [name]
    # No other seller carries a name close to a listed one.
    listed_names = [party["listed_name"] for party in truth["parties"]]
    planted_ids = {party["party_id"] for party in truth["parties"]}
    others = traffic.frame.filter(~pl.col("Seller ID").is_in(list(planted_ids)))["Seller Name"].drop_nulls()
    for seller in others.unique().to_list()[:3000]:
        assert max(fuzz.token_sort_ratio(seller.upper(), listed) for listed in listed_names) < 80, seller


def test_drift_pattern_turns_fraudulent_only_after_the_drift_date(traffic: GeneratedTraffic) -> None:
    truth = traffic.truth["patterns"]["drift"]
    drift_date = date.fromisoformat(truth["drift_date"])
    assert drift_date == date(2024, 3, 31)  # start + round(0.5 x 180 days)
    before = traffic.frame.filter(pl.col("Declaration ID").is_in(truth["lrns_before"]))
    after = _rows(traffic, "drift")

    assert before.height >= 20
    assert (before["Date"] < drift_date).all()
    assert (after["Date"] >= drift_date).all()
    for rows in (before, after):
        assert rows["HS6 Code"].unique().to_list() == [truth["hs_code"]]
        assert rows["Country of Origin"].unique().to_list() == [truth["origin"]]
        assert set(rows["Importer ID"].unique().to_list()) <= set(truth["importer_ids"])
    rate_before = before["Fraud"].cast(pl.Float64).mean()
    rate_after = after["Fraud"].cast(pl.Float64).mean()
    assert isinstance(rate_before, float)
    assert isinstance(rate_after, float)
    assert rate_before < 0.1 < 0.7 < rate_after
    # The same HS code and origin from anyone else after the drift date stay ordinary.
    others = _background(traffic).filter(
        (pl.col("HS6 Code") == truth["hs_code"]) & (pl.col("Date") >= drift_date)
    )
    assert others.height >= 5
    rate_others = others["Fraud"].cast(pl.Float64).mean()
    assert isinstance(rate_others, float)
    assert rate_others < 0.4


def test_without_drift_at_there_is_no_drift_pattern() -> None:
    traffic = generate_traffic(GeneratorConfig(declarations=2000, seed=1, days=60))
    assert "drift" not in traffic.truth["patterns"]
    assert traffic.labels.filter(pl.col("pattern") == "drift").height == 0


def test_corrupt_lines_are_where_the_truth_says_and_invalid_as_it_says(
    traffic: GeneratedTraffic, tmp_path: Path
) -> None:
    path = tmp_path / "traffic.csv"
    write_traffic(traffic, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    truth = json.loads((tmp_path / "traffic.truth.json").read_text(encoding="utf-8"))["corrupt_lines"]
    header = next(csv.reader([lines[0]]))
    countries = country_codes()

    assert len(lines) == 1 + traffic.frame.height + 10
    assert [entry["kind"] for entry in truth] == [CORRUPT_KINDS[i % len(CORRUPT_KINDS)] for i in range(10)]
    for entry in truth:
        text = lines[entry["line"] - 1]
        assert text.startswith(entry["lrn"] + ",")
        if entry["kind"] == "broken_quoting":
            with pytest.raises(csv.Error):
                next(csv.reader([text], strict=True))
            continue
        fields = next(csv.reader([text], strict=True))
        if entry["kind"] == "truncated_line":
            assert len(fields) < len(header)
            continue
        record = dict(zip(header, fields, strict=True))
        if entry["kind"] == "bad_hs_code":
            assert not (record["HS6 Code"].isdigit() and len(record["HS6 Code"]) == 6)
        elif entry["kind"] == "bad_country":
            assert record["Country of Origin"] not in countries
        else:
            assert float(record["Net Mass"]) < 0
    # Every other line is a valid row of the frame, in order.
    corrupt = {entry["line"] for entry in truth}
    valid = [line for number, line in enumerate(lines[1:], start=2) if number not in corrupt]
    assert [line.split(",", 1)[0] for line in valid] == traffic.frame["Declaration ID"].to_list()


def test_split_and_withheld_outcomes_keep_the_truth_consistent(
    traffic: GeneratedTraffic, tmp_path: Path
) -> None:
    cut = date(2024, 5, 1)
    history, later = traffic.split(cut)
    later = later.without_outcomes().with_corrupt_lines(4, seed=3)
    write_traffic(later, tmp_path / "later.csv")
    lines = (tmp_path / "later.csv").read_text(encoding="utf-8").splitlines()

    assert history.frame.height + later.frame.height == traffic.frame.height
    assert (history.frame["Date"] < cut).all()
    assert (later.frame["Date"] >= cut).all()
    assert later.frame["Fraud"].null_count() == later.frame.height
    assert later.labels["fraud"].null_count() == 0  # the truth keeps what the file withholds
    assert len(lines) == 1 + later.frame.height + 4
    for entry in later.truth["corrupt_lines"]:
        assert lines[entry["line"] - 1].startswith(entry["lrn"] + ",")
    kept = set(history.frame["Declaration ID"].to_list())
    for pattern in history.truth["patterns"].values():
        assert set(pattern["lrns"]) <= kept
    assert history.truth["part"]["end"] == "2024-04-30"
