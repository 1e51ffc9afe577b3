"""Isolation through TAXII: TLP:RED reaches only named recipients, AMBER only its group, by every route
(objects, manifest, versions, next tokens, added_after); a read-only partner cannot write; a revoked token or
a partner removed from a group loses access at once; nothing leaves without a recorded decision."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from borderwatch.access import audit
from borderwatch.access import service as access
from borderwatch.access.policy import TLP, Principal, Role
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.intel import sharing, store
from borderwatch.intel.models import ShareDecisionRow
from borderwatch.intel.stix import indicator_object
from borderwatch.scoring.profile_store import agency_profiles_dir, write_profile
from borderwatch.scoring.profiles import RiskProfile
from tests.integration.api_support import build_world, client_for
from tests.integration.intel_support import TAXII

COLLECTION = "5b1e0c52-8a47-4a4e-9a9c-6d1b3f0e2a11"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def profile(number: int) -> RiskProfile:
    return RiskProfile.model_validate(
        {
            "id": f"RP-{number}",
            "name": f"rule {number}",
            "rationale": "seen in seizures",
            "author": "risk-unit",
            "when": {"all": [{"field": "hs_code", "op": "eq", "value": f"{number:06d}"}]},
            "effect": {"add_points": 10},
        }
    )


@pytest.fixture
def world(settings: Settings) -> Any:
    world = build_world(settings, agencies=("a", "b", "c", "d"))
    engine = make_engine(settings.database_url)
    directory = agency_profiles_dir(settings.data_dir, "a")
    for number in range(1, 6):
        write_profile(directory, profile(number))
    supervisor = Principal(
        user_id=0, username="supervisor_a", role=Role.SUPERVISOR, agency="a", via="session"
    )
    with session_scope(session_factory(engine)) as session:
        store.add_collection(
            session=session, agency="a", title="partners", readers=["b", "c", "d"], collection_id=COLLECTION
        )
        sharing.add_group(
            session=session, agency="a", name="pacific", members=["b", "c"], kinds=["indicator"]
        )
        unshared = indicator_object(profile(5), agency="a", tlp=TLP.GREEN, now=T0)
        store.add_objects(
            session=session,
            collection=store.get_collection_of(session=session, agency="a", collection_id=COLLECTION),
            objects=[unshared],
            provenance=store.Provenance(source_agency="a"),
        )
        shares = [
            ("RP-1", TLP.GREEN, None, ()),
            ("RP-2", TLP.AMBER, "pacific", ()),
            ("RP-3", TLP.RED, None, ("b",)),
        ]
        for minute, (profile_id, tlp, group, recipients) in enumerate(shares):
            sharing.share(
                session=session,
                engine=engine,
                data_dir=settings.data_dir,
                principal=supervisor,
                request=sharing.ShareRequest(
                    kind="indicator",
                    record_id=profile_id,
                    collection_id=COLLECTION,
                    tlp=tlp,
                    group=group,
                    recipients=recipients,
                ),
                now=T0 + timedelta(minutes=minute),
            )
        # a second version of the RED indicator
        sharing.share(
            session=session,
            engine=engine,
            data_dir=settings.data_dir,
            principal=supervisor,
            request=sharing.ShareRequest(
                kind="indicator", record_id="RP-3", collection_id=COLLECTION, tlp=TLP.RED, recipients=("b",)
            ),
            now=T0 + timedelta(minutes=10),
        )
    engine.dispose()
    world.ids = {  # type: ignore[attr-defined]
        p: indicator_object(profile(int(p[-1])), agency="a", tlp=TLP.GREEN, now=T0)["id"]
        for p in ("RP-1", "RP-2", "RP-3", "RP-5")
    }
    return world


def seen(client: Any, world: Any, user: str) -> dict[str, set[str]]:
    """Every indicator id the user can reach by every TAXII route."""
    base = f"/taxii2/api/collections/{COLLECTION}"
    headers = {**world.auth(user), "Accept": TAXII}
    found: dict[str, set[str]] = {}

    def ids(body: dict[str, Any], key: str = "objects") -> set[str]:
        items = body.get(key, [])
        return {o["id"] if isinstance(o, dict) else o for o in items if not isinstance(o, str) or "--" in o}

    found["objects"] = ids(client.get(f"{base}/objects/", headers=headers).json())
    found["all versions"] = ids(
        client.get(f"{base}/objects/", params={"match[version]": "all"}, headers=headers).json()
    )
    found["manifest"] = ids(client.get(f"{base}/manifest/", headers=headers).json())
    paged: set[str] = set()
    params: dict[str, str] = {"limit": "1"}
    while True:
        body = client.get(f"{base}/objects/", params=params, headers=headers).json()
        paged |= ids(body)
        if not body.get("more"):
            break
        params = {"limit": "1", "next": body["next"]}
    found["pages"] = paged
    found["added_after"] = ids(
        client.get(f"{base}/objects/", params={"added_after": "2000-01-01T00:00:00Z"}, headers=headers).json()
    )
    direct: set[str] = set()
    for identifier in world.ids.values():
        one = client.get(f"{base}/objects/{identifier}/", headers=headers)
        versions = client.get(f"{base}/objects/{identifier}/versions/", headers=headers)
        if one.status_code == 200:
            direct.add(identifier)
        if versions.status_code == 200:
            direct.add(identifier)
        assert one.status_code in {200, 404} and versions.status_code in {200, 404}
    found["direct"] = direct
    return {route: {i for i in items if i.startswith("indicator--")} for route, items in found.items()}


def test_tlp_and_groups_hold_on_every_route(world: Any) -> None:
    green, amber, red, unshared = (world.ids[k] for k in ("RP-1", "RP-2", "RP-3", "RP-5"))
    expected = {
        "a": {green, amber, red, unshared},  # the owner sees all it holds
        "b": {green, amber, red},  # in the group and the named recipient
        "c": {green, amber},  # in the group, not a recipient
        "d": {green},  # only a reader of the collection
    }
    with client_for(world.settings) as client:
        for agency, wanted in expected.items():
            routes = seen(client, world, f"analyst_{agency}")
            for route, ids in routes.items():
                assert ids == wanted, (agency, route)
        # a next token handed to another agency gives it nothing more
        headers_b = {**world.auth("analyst_b"), "Accept": TAXII}
        first = client.get(
            f"/taxii2/api/collections/{COLLECTION}/objects/", params={"limit": "1"}, headers=headers_b
        )
        token = first.json()["next"]
        headers_d = {**world.auth("analyst_d"), "Accept": TAXII}
        rest = client.get(
            f"/taxii2/api/collections/{COLLECTION}/objects/", params={"next": token}, headers=headers_d
        )
        assert red not in json.dumps(rest.json()) and amber not in json.dumps(rest.json())
        # the red indicator's versions exist for b, not for d
        versions = f"/taxii2/api/collections/{COLLECTION}/objects/{red}/versions/"
        assert len(client.get(versions, headers=headers_b).json()["versions"]) == 2
        assert client.get(versions, headers=headers_d).status_code == 404

        # removed from the group: c loses the AMBER indicator at once
        engine = make_engine(world.settings.database_url)
        with session_scope(session_factory(engine)) as session:
            sharing.remove_member(session=session, agency="a", name="pacific", member="c")
        assert seen(client, world, "analyst_c")["objects"] == {green}
        # a revoked token loses everything at once
        with session_scope(session_factory(engine)) as session:
            access.revoke_token(db_session=session, prefix=world.tokens["analyst_b"][:8])
        assert (
            client.get(f"/taxii2/api/collections/{COLLECTION}/objects/", headers=headers_b).status_code == 401
        )
        # every partner read is audited with what it saw
        with session_scope(session_factory(engine)) as session:
            rows, _ = audit.search(db_session=session, agency="d", resource="intel")
            assert any((r.detail or {}).get("objects") == [green] for r in rows)
            decisions = session.scalars(select(ShareDecisionRow)).all()
            assert [(d.decided_by, d.tlp) for d in decisions][:3] == [
                ("supervisor_a", "green"),
                ("supervisor_a", "amber"),
                ("supervisor_a", "red"),
            ]
        engine.dispose()


def test_a_read_only_partner_cannot_write_and_a_token_cannot_decide_a_share(world: Any) -> None:
    with client_for(world.settings) as client:
        headers = {**world.auth("supervisor_b"), "Accept": TAXII, "Content-Type": TAXII}
        response = client.post(
            f"/taxii2/api/collections/{COLLECTION}/objects/",
            headers=headers,
            content=json.dumps({"objects": []}),
        )
        assert response.status_code == 403
        assert (
            client.delete(
                f"/taxii2/api/collections/{COLLECTION}/objects/{world.ids['RP-1']}/", headers=headers
            ).status_code
            == 403
        )
    engine = make_engine(world.settings.database_url)
    token_holder = Principal(user_id=0, username="admin_a", role=Role.ADMIN, agency="a", via="token")
    analyst = Principal(user_id=0, username="analyst_a", role=Role.ANALYST, agency="a", via="session")
    request = sharing.ShareRequest(
        kind="indicator", record_id="RP-4", collection_id=COLLECTION, tlp=TLP.GREEN
    )
    for principal in (token_holder, analyst):
        with session_scope(session_factory(engine)) as session, pytest.raises(store.ForbiddenError):
            sharing.share(
                session=session,
                engine=engine,
                data_dir=world.settings.data_dir,
                principal=principal,
                request=request,
            )
    with session_scope(session_factory(engine)) as session:
        assert (
            session.scalars(select(ShareDecisionRow).where(ShareDecisionRow.record_id == "RP-4")).all() == []
        )
        stored = {o["id"] for _, o, _, _ in store.stored_objects(session=session, collection_id=COLLECTION)}
        rp4 = indicator_object(profile(4), agency="a", tlp=TLP.GREEN, now=T0)["id"]
        assert world.ids["RP-1"] in stored and rp4 not in stored
    engine.dispose()
