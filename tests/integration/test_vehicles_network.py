"""Vehicles and their owners in a declaration's trader network (API), per agency: the truck a declaration
names links to the importer, its owner too, and a vehicle with open alerts is flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from borderwatch.core.errors import ConfigError
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.vehicles import service
from tests.integration.api_support import World, build_world, client_for, seed

DECLARED = "lrn,plate,country,crossing,declared_at\nA-001,AB12 CDE,GB,DOVER,2026-03-01T08:00:00Z\n"
OWNERS = (
    "plate,country,owner_id,owner_name,sanctioned\n"
    "AB12CDE,GB,,Gamma Haulage,yes\n"
    "KL34MNO,GB,IMP1,Importer IMP1,no\n"
)


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> World:
    world = build_world(settings)
    seed(settings, agency="a", lrns=["A-001"], tmp=tmp_path)
    seed(settings, agency="b", lrns=["B-001"], tmp=tmp_path)
    (tmp_path / "declared.csv").write_text(DECLARED)
    (tmp_path / "owners.csv").write_text(OWNERS)
    (tmp_path / "cameras.csv").write_text("camera_id,crossing,direction\nC1,DOVER,out\n")
    engine = make_engine(settings.database_url)
    with session_scope(session_factory(engine)) as session:
        service.load_declared_vehicles(session=session, agency="a", path=tmp_path / "declared.csv")
        assert service.load_owners(session=session, agency="a", path=tmp_path / "owners.csv") == 2
        service.load_cameras(session=session, agency="a", path=tmp_path / "cameras.csv")
        service.add_to_hotlist(
            session=session, agency="a", list_name="national", plate="AB12CDE", country="GB", reason="stolen"
        )
    with session_scope(session_factory(engine)) as session:
        read = {"camera_id": "C1", "read_at": "2026-03-01T09:00:00Z", "plate": "AB12CDE", "country": "GB"}
        assert service.process_reads(session=session, agency="a", records=[read], source="t").alerts == 1
    engine.dispose()
    return world


def test_the_declared_vehicle_and_its_owner_join_the_importers_network(world: World) -> None:
    with client_for(world.settings) as client:
        graph = client.get("/api/declarations/A-001/network", headers=world.auth("analyst_a")).json()
        nodes = {n["id"]: n for n in graph["nodes"]}
        edges = {(e["source"], e["target"]): e["kind"] for e in graph["edges"]}
        truck = nodes["vehicle:AB12CDE"]
        assert truck["kind"] == "vehicle" and truck["flagged"] and "1 alert" in truck["label"]
        assert edges.get(
            ("importer:IMP1", "vehicle:AB12CDE"), edges.get(("vehicle:AB12CDE", "importer:IMP1"))
        )
        assert nodes["owner:Gamma Haulage"]["label"] == "Gamma Haulage ⚠ sanctioned"
        # the importer's own van: owned by a known trader, it links to that trader's node
        assert "vehicle:KL34MNO" in nodes and not nodes["vehicle:KL34MNO"].get("flagged")
        other = client.get("/api/declarations/B-001/network", headers=world.auth("analyst_b")).json()
        assert not any(n["id"].startswith(("vehicle:", "owner:")) for n in other["nodes"])


def test_an_owners_file_with_a_bad_row_is_refused_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "owners.csv"
    bad.write_text("plate,owner_name,sanctioned\nAB12CDE,Gamma,perhaps\n")
    with pytest.raises(ConfigError, match="sanctioned"):
        service.read_owners_csv(bad.read_text(), source=str(bad))


def test_cli_loads_owners_and_refuses_a_bad_file(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from borderwatch.cli.main import app
    from borderwatch.core.settings import get_settings

    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        owners, bad = tmp_path / "owners.csv", tmp_path / "bad.csv"
        owners.write_text(OWNERS)
        bad.write_text("plate,owner_name\n,Nobody\n")
        result = CliRunner().invoke(app, ["vehicles", "owners", str(owners)])
        assert result.exit_code == 0 and "2 vehicle owner(s) loaded" in result.output, result.output
        refused = CliRunner().invoke(app, ["vehicles", "owners", str(bad)])
        assert refused.exit_code == 2 and "plate" in refused.output
    finally:
        get_settings.cache_clear()
