"""Helpers for the API tests: two agencies with one user of each role, their tokens, and a client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from borderwatch.access import service as access
from borderwatch.access.policy import Role
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.web.app import create_app

PASSWORD = "a long enough password"


@dataclass
class World:
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)
    """username -> API token; usernames are ``<role>_<agency>`` e.g. ``analyst_a``."""

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def build_world(
    settings: Settings, agencies: tuple[str, ...] = ("a", "b"), with_password: tuple[str, ...] = ()
) -> World:
    """Users of every role in each agency, each with an API token.

    Only the usernames in ``with_password`` get a password (argon2 is deliberately slow).
    """
    world = World(settings=settings)
    engine = make_engine(settings.database_url)
    with session_scope(session_factory(engine)) as session:
        for agency in agencies:
            for role in Role:
                username = f"{role.value}_{agency}"
                access.add_user(
                    db_session=session,
                    username=username,
                    role=role,
                    agency=agency,
                    password=PASSWORD if username in with_password else None,
                )
                _row, secret = access.create_token(db_session=session, username=username, name="tests")
                world.tokens[username] = secret
    engine.dispose()
    return world


@contextmanager
def client_for(settings: Settings) -> Iterator[TestClient]:
    """A client over HTTPS (so Secure cookies are sent back), raising nothing on server errors."""
    with TestClient(create_app(settings), base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c


def assert_error(response: object, status: int, code: str | None = None) -> dict[str, Any]:
    """The response has ``status`` and the one error body; returns its ``error`` object."""
    from httpx2 import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "field"}, error
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


def declaration_json(
    lrn: str, *, day: int = 1, value: float = 1000.0, importer: str = "IMP1"
) -> dict[str, object]:
    """A valid canonical declaration (``borderwatch.ingest.schemas.Declaration``) as JSON."""
    return {
        "lrn": lrn,
        "date": f"2026-03-{day:02d}",
        "office": "30",
        "procedure": {"import_type": "11"},
        "transport": {"mode": "10", "departure_country": "CN", "origin_country": "CN"},
        "parties": {
            "importer": {"id": importer, "name": f"Importer {importer}", "country": "KR"},
            "declarant": {"id": "DEC1"},
            "seller": {"id": "SEL1", "name": "Seller One", "country": "CN"},
        },
        "items": [
            {
                "hs_code": "610910",
                "net_mass": 120.0,
                "customs_value": value,
                "currency": "KRW",
                "tax_rate": 8.0,
            }
        ],
    }


def seed(settings: Settings, *, agency: str, lrns: list[str], tmp: Path, day: int = 1) -> None:
    """Store declarations for ``agency`` (through the ingest service), decide lanes from hand-made scores
    (riskiest first: the first LRN gets the highest score) and open cases for red/yellow ones."""
    import json

    import polars as pl

    from borderwatch.ingest.service import ingest_file
    from borderwatch.inspections.service import open_cases
    from borderwatch.lanes.policy import Capacity, LanePolicy
    from borderwatch.lanes.service import assign_lanes

    path = tmp / f"seed-{agency}-{day}.jsonl"
    lines = (json.dumps(declaration_json(lrn, day=day)) for lrn in lrns)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    engine = make_engine(settings.database_url)
    ingest_file(engine=engine, path=path, fmt="jsonl", agency=agency)
    n = len(lrns)
    scored = pl.DataFrame(
        {
            "lrn": lrns,
            "declared_on": [date(2026, 3, day)] * n,
            "office": ["30"] * n,
            "importer_id": ["IMP1"] * n,
            "score": [90.0 - 10 * i for i in range(n)],
            "fraud_probability": [0.9 - 0.1 * i for i in range(n)],
            "expected_duty": [80.0] * n,
            "forced_lane": pl.Series([None] * n, dtype=pl.String),
            "reasons": [[f"reason {i}a", f"reason {i}b", f"reason {i}c", f"reason {i}d"] for i in range(n)],
        }
    )
    policy = LanePolicy(red=Capacity(default=1), yellow=Capacity(default=1), control_rate=0.0)
    with session_scope(session_factory(engine)) as session:
        decisions = assign_lanes(session=session, scored=scored, policy=policy, agency=agency)
        open_cases(session=session, decisions=decisions, agency=agency)
    engine.dispose()


def train_model(folder: Path) -> Path:
    """A small risk model trained on generated traffic (H2's generator, H3's trainer), saved in ``folder``."""
    from borderwatch.ingest.frame import read_kcs_frames
    from borderwatch.scoring.risk_model import train_risk_model
    from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

    traffic = generate_traffic(GeneratorConfig(declarations=1500, seed=3, start=date(2026, 1, 1), days=40))
    csv = folder / "traffic.csv"
    write_traffic(traffic, csv)
    declarations, outcomes = read_kcs_frames(csv, agency="a")
    model = train_risk_model(declarations=declarations, outcomes=outcomes, seed=1)
    path = folder / "model.json"
    model.save(path)
    return path


def register(settings: Settings, model_path: Path, agency: str) -> str:
    """Register the saved model for ``agency``; returns its version."""
    from borderwatch.scoring.registry import register_model
    from borderwatch.scoring.risk_model import RiskModel

    model = RiskModel.load(model_path)
    engine = make_engine(settings.database_url)
    with session_scope(session_factory(engine)) as session:
        register_model(session=session, model=model, path=model_path, agency=agency)
    engine.dispose()
    return model.version
