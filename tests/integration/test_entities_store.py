"""Resolved entities stored in the database, party records read back from stored declarations, and the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.core.settings import get_settings
from borderwatch.db.session import session_scope
from borderwatch.entities.records import records_from_db
from borderwatch.entities.resolve import resolve_entities
from borderwatch.entities.service import resolved_entity_of, save_resolution
from borderwatch.ingest.models import DeclarationRow
from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

ADDRESS = "88 Jungang-daero, Busan"
IMPORTERS = [
    ("RNG01AA", "Haneul Bridge Trading Co., Ltd.", ADDRESS),
    ("RNG01BB", "HANEUL BRIDGE TRADING CO LTD", ADDRESS),
    ("RNG01CC", "Haneul Brdge Trading Company", ADDRESS),
    ("OTHER01", "Bobo Electronics Ltd.", "1 Songdo-daero, Incheon"),
]


def _store(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        for number, (importer, name, address) in enumerate(IMPORTERS * 2):
            broker = "BRK0001" if importer.startswith("RNG") else "BRK0002"
            session.add(
                DeclarationRow(
                    lrn=f"L{number:03d}",
                    content_hash=str(number),
                    declared_on=date(2024, 1, 1 + number),
                    office="020",
                    importer_id=importer,
                    declarant_id=broker,
                    parties={
                        "importer": {"id": importer, "name": name, "address": address, "country": "KR"},
                        "declarant": {"id": broker, "name": "Saebyeok Customs Service"},
                    },
                )
            )


def test_resolved_entities_are_stored_and_found_by_party(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    _store(session_factory)
    records = records_from_db(engine)
    assert records.height == 16  # importer and declarant of 8 declarations
    assert records_from_db(engine, until=date(2024, 1, 3)).height == 4
    resolution = resolve_entities(records)
    assert resolution.groups() == [["RNG01AA", "RNG01BB", "RNG01CC"]]
    with session_scope(session_factory) as session:
        assert save_resolution(session=session, resolution=resolution, run_id="run-1") == 1
    with session_scope(session_factory) as session:
        (entity,) = resolved_entity_of(session=session, party_id="RNG01BB")
        assert entity.member_count == 3 and entity.confidence >= 0.9 and entity.role == "importer"
        assert resolved_entity_of(session=session, party_id="OTHER01") == []


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_resolves_generated_traffic_and_shows_an_ego_network(cli: CliRunner, tmp_path: Path) -> None:
    traffic = generate_traffic(GeneratorConfig(declarations=1500, seed=5, start=date(2024, 1, 1), days=60))
    path = tmp_path / "traffic.csv"
    write_traffic(traffic, path)
    ring = traffic.truth["patterns"]["importer_ring"]["importer_ids"]
    out = tmp_path / "entities.json"
    result = cli.invoke(app, ["entities", "resolve", "--file", str(path), "--json", str(out), "--save"])
    assert result.exit_code == 0, result.output
    entities = json.loads(out.read_text())["entities"]
    ring_rows = [e for e in entities if e["party_id"] in ring]
    assert len(ring_rows) == len(ring) and len({e["entity_key"] for e in ring_rows}) == 1
    assert re.search(r"stored [1-9]\d* entities as run [0-9a-f]{12}", result.output)
    graph_out = tmp_path / "ego.json"
    ego = cli.invoke(
        app, ["network", "ego", f"importer:{ring[0]}", "--file", str(path), "--json", str(graph_out)]
    )
    assert ego.exit_code == 0, ego.output
    elements = json.loads(graph_out.read_text())
    assert {"nodes", "edges"} == set(elements)
    assert any(n["data"]["type"] == "declarant" for n in elements["nodes"])
    missing = cli.invoke(app, ["network", "ego", "importer:NOPE", "--file", str(path)])
    assert missing.exit_code == 2
