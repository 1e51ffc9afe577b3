"""The KCS release end to end: every declaration and outcome stored; corrupted lines quarantined, exactly."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, func, select

from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.ingest.models import DeclarationRow, GoodsItemRow, OutcomeRow, QuarantineRow
from borderwatch.ingest.service import ingest_file
from borderwatch.ingest.store import load_declarations, load_outcomes

TRAIN, VALID = "df_syn_train_eng.csv", "df_syn_valid_eng.csv"
HS, DEPARTURE, NET_MASS = 12, 13, 18  # KCS column positions


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            model.__tablename__: connection.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (DeclarationRow, GoodsItemRow, OutcomeRow, QuarantineRow)
        }


def test_kcs_train_and_valid_store_every_declaration_and_outcome(engine: Engine, kcs_dir: Path) -> None:
    train = ingest_file(engine=engine, path=kcs_dir / TRAIN)
    valid = ingest_file(engine=engine, path=kcs_dir / VALID)
    assert train.stored + valid.stored == 45_519
    assert train.outcomes + valid.outcomes == 45_519
    assert _counts(engine) == {
        "declarations": 45_519,
        "goods_items": 45_519,
        "outcomes": 45_519,
        "quarantine": 0,
    }
    # What the loaders give back is exactly what the unvalidated direct reader makes of the same files.
    direct = [read_kcs_frames(kcs_dir / name) for name in (TRAIN, VALID)]
    stored = load_declarations(engine).sort("declared_on", "lrn")
    assert stored.equals(pl.concat([d for d, _ in direct]).sort("declared_on", "lrn"))
    assert load_outcomes(engine).sort("lrn").equals(pl.concat([o for _, o in direct]).sort("lrn"))
    again = ingest_file(engine=engine, path=kcs_dir / VALID)
    assert (again.stored, again.amended, again.duplicates, again.outcomes) == (0, 0, valid.read, 0)
    assert _counts(engine)["declarations"] == 45_519


def _corrupt(lines: list[str], seed: int = 7) -> tuple[list[str], dict[int, str]]:
    """100 corrupted data lines, 20 of each kind; the lines and {line number: expected reason part}."""
    rng = random.Random(seed)
    chosen = sorted(rng.sample(range(1, len(lines)), 100))
    expected: dict[int, str] = {}
    out = list(lines)
    for k, index in enumerate(chosen):
        fields = lines[index].split(",")
        kind = k % 5
        if kind == 0:
            fields[HS] = "12AB56"
            expected[index + 1] = "'12AB56' is not an HS code of 6 to 10 digits"
        elif kind == 1:
            fields[DEPARTURE] = "QQ"
            expected[index + 1] = "'QQ' is not an ISO 3166 country code"
        elif kind == 2:
            fields[NET_MASS] = "-12.5"
            expected[index + 1] = "'-12.5' is negative; it must be 0 or more"
        elif kind == 3:
            fields[2] = '"' + fields[2]
            expected[index + 1] = "line has an unclosed quote"
        else:
            fields = fields[:9]
            expected[index + 1] = "line has 9 fields where the header has 22"
        out[index] = ",".join(fields)
    return out, expected


def test_corrupted_copy_quarantines_exactly_the_bad_lines_and_reingest_changes_nothing(
    engine: Engine, kcs_dir: Path, tmp_path: Path
) -> None:
    lines = (kcs_dir / VALID).read_text().splitlines()
    corrupted, expected = _corrupt(lines)
    path = tmp_path / "valid_corrupted.csv"
    path.write_text("\n".join(corrupted) + "\n")

    first = ingest_file(engine=engine, path=path, batch_size=1000)
    data_lines = len(lines) - 1
    assert (first.read, first.stored, first.quarantined) == (data_lines, data_lines - 100, 100)
    with engine.connect() as connection:
        rows = connection.execute(
            select(QuarantineRow.line, QuarantineRow.reason, QuarantineRow.raw, QuarantineRow.record_key)
        ).all()
    assert {line for line, *_ in rows} == set(expected)
    for line, reason, raw, key in rows:
        assert line is not None
        assert expected[line] in reason
        assert raw == corrupted[line - 1]
        assert key == lines[line - 1].split(",")[0]
    stored_lrns = {lrn for (lrn,) in _all(engine, DeclarationRow.lrn)}
    assert not stored_lrns & {lines[n - 1].split(",")[0] for n in expected}

    before = _counts(engine)
    second = ingest_file(engine=engine, path=path, batch_size=1000)
    assert _counts(engine) == before
    assert (second.stored, second.quarantined, second.already_quarantined) == (0, 0, 100)
    assert second.duplicates == data_lines - 100


def _all(engine: Engine, column: object) -> list[tuple[str]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(column))]  # type: ignore[call-overload]
