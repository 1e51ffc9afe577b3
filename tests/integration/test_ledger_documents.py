"""Declarations' documents against the ledger: re-used, altered and unregistered certificates planted by the
synthetic generator are found, and nothing else; presentations go through the LogWriter; case evidence too."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from borderwatch.ledger import service
from borderwatch.ledger.documents import (
    check_documents,
    present_documents,
    register_evidence,
    register_issued,
)
from borderwatch.ledger.keys import KeyStore
from borderwatch.ledger.writer import WriterPool
from borderwatch.synthetic.documents import plant_documents

ORIGIN = "borderwatch.test/documents"


def _register_issued(keys: KeyStore, pool: WriterPool, issued: pl.DataFrame) -> None:
    register_issued(keys, pool.writer("a"), issued)


def test_planted_documents_are_found_exactly(engine: Engine, tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    keys.generate_log_key(ORIGIN)
    service.ensure_log(engine, agency="a", origin=ORIGIN)
    planted = plant_documents([f"L{i:05d}" for i in range(400)], seed=3, issuers=6, registering=4, share=0.04)
    pool = WriterPool(engine, signer=keys.log_signer)
    try:
        _register_issued(keys, pool, planted.issued)
        found = []
        for start in range(0, planted.stated.height, 50):  # declarations arrive in batches, in order
            batch = planted.stated.slice(start, 50)
            found.append(check_documents(engine, keys, agency="a", documents=batch))
            present_documents(engine, keys, pool, agency="a", documents=batch)
    finally:
        pool.close()
    findings = pl.concat(found)
    expected = planted.truth.drop_nulls("finding")
    assert expected["finding"].value_counts().height == 3
    assert sorted(findings.select("lrn", "finding").iter_rows()) == sorted(expected.iter_rows())
    reused = findings.filter(pl.col("finding") == "reused")
    stated = planted.stated.select("lrn", "sha256")
    # the declaration named as the first presenter holds the very same certificate
    pairs = reused.join(stated, on="lrn").join(
        stated.rename({"lrn": "other_lrn", "sha256": "other"}), on="other_lrn"
    )
    assert pairs.height == reused.height and (pairs["sha256"] == pairs["other"]).all()
    # every stated certificate of a registering issuer is in the log now; a re-used one only once
    registering = planted.stated.filter(pl.col("issuer").is_in(planted.issued["issuer"].unique().to_list()))
    log = service.log_info(engine, agency="a")
    assert (
        log.size
        == planted.issued.height
        + registering.filter(
            ~pl.col("lrn").is_in(expected.filter(pl.col("finding") == "reused")["lrn"].to_list())
        )
        .filter(~pl.col("sha256").is_in(_issued_digests(planted.issued)))
        .height
    )
    assert service.latest_checkpoint(engine, agency="a") is not None


def _issued_digests(issued: pl.DataFrame) -> list[str]:
    return [hashlib.sha256(content).hexdigest() for content in issued["content"].to_list()]


def test_a_second_check_of_the_same_declaration_is_not_a_reuse(engine: Engine, tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    keys.generate_log_key(ORIGIN)
    service.ensure_log(engine, agency="a", origin=ORIGIN)
    planted = plant_documents(["A", "B"], seed=1, issuers=1, registering=1, share=0.0)
    pool = WriterPool(engine, signer=keys.log_signer)
    try:
        _register_issued(keys, pool, planted.issued)
        present_documents(engine, keys, pool, agency="a", documents=planted.stated)
        present_documents(engine, keys, pool, agency="a", documents=planted.stated)  # once each
        assert check_documents(engine, keys, agency="a", documents=planted.stated).height == 0
        copy = planted.stated.head(1).with_columns(pl.lit("C").alias("lrn"))
        (finding,) = check_documents(engine, keys, agency="a", documents=copy).iter_rows(named=True)
        assert finding["finding"] == "reused" and finding["other_lrn"] == "A"
        # case evidence: appended through the writer, the agency its issuer
        receipts = register_evidence(
            keys, pool.writer("a"), agency="a", case_id=7, evidence=[("photo.jpg", "ab" * 32)]
        )
    finally:
        pool.close()
    entry = service.entry_at(engine, agency="a", index=receipts[0].index)
    assert (entry.doc_type, entry.issuer, entry.number) == ("evidence_file", "a", "case-7/photo.jpg")
    assert service.latest_checkpoint(engine, agency="a").size == receipts[0].index + 1  # type: ignore[union-attr]


def test_an_agency_without_a_ledger_finds_nothing(engine: Engine, tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    planted = plant_documents(["A", "B", "C"], seed=1, issuers=1, registering=1, share=0.34)
    keys.issuer_key("chamber-00", create=True)
    assert check_documents(engine, keys, agency="a", documents=planted.stated).height == 0
