"""A closed case with a seizure, shared: the objects that would leave are exactly the seizure's, valid STIX
(strict), with natural persons pseudonymised unless the group's agreement allows personal data."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl
import pytest
from stix2validator import ValidationOptions, validate_instance

from borderwatch.access.policy import TLP
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.ingest.schemas import Declaration
from borderwatch.ingest.service import ingest_declarations
from borderwatch.inspections.service import open_cases, record_outcome
from borderwatch.intel import sharing, store
from borderwatch.intel.stix import SEIZURE

STRICT = ValidationOptions(strict=True, version="2.1")


def test_a_seizure_preview_is_valid_and_minimises_personal_data(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    data: dict[str, Any] = {
        "lrn": "A-77",
        "date": "2026-11-18",
        "office": "NZAKL",
        "transport": {
            "mode": "10",
            "departure_country": "MY",
            "origin_country": "VN",
            "transit_countries": ["SG"],
        },
        "parties": {
            "importer": {"id": "IMP7", "name": "Harbour Imports Ltd", "country": "NZ"},
            "courier": {"id": "C9", "name": "Jane Roe"},
        },
        "items": [{"hs_code": "240220", "net_mass": 800.0, "customs_value": 1200.0, "currency": "NZD"}],
    }
    second = {**data, "lrn": "A-78"}
    declarations = [Declaration.model_validate(data), Declaration.model_validate(second)]
    ingest_declarations(engine=engine, declarations=declarations, agency="a")
    factory = session_factory(engine)
    with session_scope(factory) as session:
        (case,) = open_cases(
            session=session, decisions=pl.DataFrame({"lrn": ["A-77"], "lane": ["red"]}), agency="a"
        )
        record_outcome(
            session=session,
            case_id=case.id,
            result="seizure",
            officer="insp",
            recorded_on=date(2026, 11, 19),
            goods="cigarettes",
            quantity=40000,
            quantity_unit="pieces",
            concealment="false floor",
        )
        case_id = case.id
    with session_scope(factory) as session:
        collection = store.add_collection(session=session, agency="a", title="x")
        sharing.add_group(session=session, agency="a", name="strict", members=["b"], kinds=["seizure"])
        sharing.add_group(
            session=session, agency="a", name="open", members=["b"], kinds=["seizure"], personal_data=True
        )
        minimised = sharing.preview(
            session=session,
            engine=engine,
            data_dir=settings.data_dir,
            agency="a",
            request=sharing.ShareRequest("seizure", str(case_id), collection.id, TLP.AMBER, group="strict"),
        )
        clear = sharing.preview(
            session=session,
            engine=engine,
            data_dir=settings.data_dir,
            agency="a",
            request=sharing.ShareRequest("seizure", str(case_id), collection.id, TLP.AMBER, group="open"),
        )
        (still_open,) = open_cases(
            session=session, decisions=pl.DataFrame({"lrn": ["A-78"], "lane": ["red"]}), agency="a"
        )
        with pytest.raises(store.IntelError, match="not closed with a seizure"):
            sharing.seizure_record(session=session, engine=engine, agency="a", case_id=still_open.id)
    engine.dispose()
    for obj in minimised:
        result = validate_instance(obj, STRICT)
        assert result.is_valid, [str(e) for e in result.errors]
    incident = next(o for o in minimised if o["type"] == "incident")
    seizure = incident["extensions"][SEIZURE.id]
    assert (seizure["hs_code"], seizure["goods"], seizure["quantity"], seizure["concealment"]) == (
        "240220",
        "cigarettes",
        40000,
        "false floor",
    )
    assert seizure["route"] == {
        "origin_country": "VN",
        "departure_country": "MY",
        "transit_countries": ["SG"],
    }
    assert seizure["office"] == "NZAKL" and seizure["seized_on"] == "2026-11-19"
    text = json.dumps(minimised)
    assert "Harbour Imports Ltd" in text and "Jane Roe" not in text and '"C9"' not in text
    assert "Jane Roe" in json.dumps(clear)
