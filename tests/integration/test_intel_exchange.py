"""Two agencies: A shares an indicator on its TAXII server; B pulls it with taxii2-client (idempotently), it
becomes B's risk profile naming A and the indicator, matches B's declarations, and A receives B's sighting
as a count, with no declaration detail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine

from borderwatch.access.policy import TLP, Principal, Role
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.ingest.schemas import Declaration
from borderwatch.ingest.service import ingest_declarations
from borderwatch.intel import exchange, sharing, store
from borderwatch.scoring.profile_store import agency_profiles_dir, load_agency_profiles, write_profile
from borderwatch.scoring.profiles import RiskProfile, evaluate_profiles
from tests.integration.intel_support import add_system, borderwatch_serve, database

# One worker starts the module's servers once (make test runs with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("intel_exchange")

COLLECTION = "0f6a3c2b-9d8e-4f1a-b2c3-d4e5f6a7b8c9"
PROFILE = RiskProfile.model_validate(
    {
        "id": "RP-CIG",
        "name": "Cigarettes from Vietnam",
        "rationale": "three seizures under false floors this month",
        "author": "risk-unit",
        "when": {
            "all": [
                {"field": "hs_code", "op": "startswith", "value": "2402"},
                {"field": "origin_country", "op": "eq", "value": "VN"},
            ]
        },
        "effect": {"add_points": 30},
        "valid_to": "2099-12-31",
    }
)


class AgencyA:
    def __init__(self, base: str, url: str, data_dir: Path, token_b: str) -> None:
        self.base, self.url, self.data_dir, self.token_b = base, url, data_dir, token_b


@pytest.fixture(scope="module")
def agency_a(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgencyA]:
    directory = tmp_path_factory.mktemp("agency-a")
    with database("sqlite", directory) as url:
        token_b = add_system(url, username="b-on-a", agency="b")
        engine = make_engine(url)
        data_dir = directory / "data"
        write_profile(agency_profiles_dir(data_dir, "a"), PROFILE)
        supervisor = Principal(user_id=0, username="sup_a", role=Role.SUPERVISOR, agency="a", via="session")
        with session_scope(session_factory(engine)) as session:
            store.add_collection(
                session=session,
                agency="a",
                title="pacific",
                readers=["b"],
                writers=["b"],
                collection_id=COLLECTION,
            )
            sharing.add_group(session=session, agency="a", name="pacific", members=["b"], kinds=["indicator"])
            sharing.share(
                session=session,
                engine=engine,
                data_dir=data_dir,
                principal=supervisor,
                request=sharing.ShareRequest(
                    kind="indicator",
                    record_id="RP-CIG",
                    collection_id=COLLECTION,
                    tlp=TLP.AMBER,
                    group="pacific",
                ),
            )
        engine.dispose()
        with borderwatch_serve(url, directory, agency="a") as base:
            yield AgencyA(base, url, data_dir, token_b)


def declaration(lrn: str, hs_code: str, origin: str) -> Declaration:
    data: dict[str, Any] = {
        "lrn": lrn,
        "date": datetime.now(UTC).date().isoformat(),
        "office": "NZAKL",
        "transport": {"mode": "10", "departure_country": origin, "origin_country": origin},
        "parties": {"importer": {"id": "IMP1"}, "declarant": {"id": "DCL1"}},
        "items": [{"hs_code": hs_code, "net_mass": 100.0, "customs_value": 900.0, "currency": "USD"}],
    }
    return Declaration.model_validate(data)


def test_a_shared_indicator_targets_the_partners_declarations_and_comes_back_as_a_count(
    agency_a: AgencyA, engine: Engine, settings: Settings
) -> None:
    ingest_declarations(
        engine=engine,
        declarations=[
            declaration("B-1", "240220", "VN"),
            declaration("B-2", "240290", "VN"),
            declaration("B-3", "240220", "CN"),
        ],
        agency="b",
    )
    factory = session_factory(engine)
    with session_scope(factory) as session:
        partner = exchange.add_partner(
            session=session,
            agency="b",
            name="a",
            collection_url=f"{agency_a.base}/taxii2/api/collections/{COLLECTION}/",
        )
        remote = exchange.client(partner, user="b-on-a", secret=agency_a.token_b)
        first = exchange.pull(session=session, agency="b", partner=partner, remote=remote)
        again = exchange.pull(session=session, agency="b", partner=partner, remote=remote)
        full = exchange.pull(session=session, agency="b", partner=partner, remote=remote, full=True)
        used = exchange.use_received(session=session, agency="b", data_dir=settings.data_dir)
    assert first.stored == first.received > 0 and first.failures == []
    # incremental: resumed after the partner's date of the last object; all again with full, idempotent
    assert again.added_after is not None and (again.received, again.stored) == (0, 0)
    assert (full.stored, full.already) == (0, first.received)  # idempotent by (id, modified)

    received = [p for p in load_agency_profiles(settings.data_dir, "b") if p.id in used.profiles]
    assert len(received) == 1
    rule = received[0]
    assert rule.name == "a: Cigarettes from Vietnam" and rule.effect.add_points == 30
    assert rule.valid_to == date(2099, 12, 31)
    indicator_id = rule.rationale.split(" ")[1]
    assert indicator_id.startswith("indicator--") and "shared by a" in rule.rationale

    with session_scope(factory) as session:
        counts = exchange.record_sightings(
            session=session, engine=engine, agency="b", data_dir=settings.data_dir
        )
        assert counts == {indicator_id: 2}
        remote = exchange.client(
            exchange.get_partner(session=session, agency="b", name="a"),
            user="b-on-a",
            secret=agency_a.token_b,
        )
        sent = exchange.push_sightings(
            session=session,
            agency="b",
            partner=exchange.get_partner(session=session, agency="b", name="a"),
            remote=remote,
        )
        assert sent == 1
        box = exchange.inbox(session=session, agency="b")
        provenance = store.stored_objects(session=session, collection_id=box.id, types=["indicator"])
        assert [(agency, source) for _, _, agency, source in provenance] == [
            ("a", f"{agency_a.base}/taxii2/api/collections/{COLLECTION}/")
        ]

    engine_a = make_engine(agency_a.url)
    with session_scope(session_factory(engine_a)) as session:
        sightings = exchange.received_sightings(session=session, agency="a")
        bodies = [
            json.dumps(o)
            for _, o, _, _ in store.stored_objects(
                session=session, collection_id=COLLECTION, types=["sighting"]
            )
        ]
    engine_a.dispose()
    assert sightings == [{"partner": "b", "indicator": indicator_id, "count": 2}]
    assert not any(lrn in body for body in bodies for lrn in ("B-1", "B-2", "IMP1", "240220"))

    # the received rule scores like A's own on B's declarations
    frame = evaluate_profiles(
        pl.DataFrame(
            {
                "hs_code": ["240220", "240220"],
                "origin_country": ["VN", "CN"],
                "declared_on": [datetime.now(UTC).date()] * 2,
            }
        ),
        [rule],
    )
    assert [bool(h) for h in frame["rule_hits"].to_list()] == [True, False]
