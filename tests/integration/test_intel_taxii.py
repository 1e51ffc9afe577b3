"""TAXII 2.1 conformance through the reference client (``taxii2-client``) against ``borderwatch serve``,
on SQLite and PostgreSQL; bad input; and a differential test against OASIS medallion."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from requests import HTTPError
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import Collection, Server, as_pages

from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.intel import store
from tests.integration.intel_support import (
    AMBER,
    TAXII,
    add_system,
    borderwatch_serve,
    database,
    indicator,
    medallion_serve,
    stamp,
)

STRICT = ValidationOptions(strict=True, version="2.1")
# One worker starts the module's servers once (make test runs with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("intel_taxii")

COLLECTION = "8f3a6a2e-1a2b-4c3d-9e8f-0a1b2c3d4e5f"
HIDDEN = "1c0ffee0-1a2b-4c3d-9e8f-0a1b2c3d4e5f"


class Site:
    def __init__(self, base: str, tokens: dict[str, str], kind: str) -> None:
        self.base = base
        self.kind = kind
        self.tokens = tokens

    def collection(self, user: str, collection_id: str = COLLECTION) -> Collection:
        return Collection(
            f"{self.base}/taxii2/api/collections/{collection_id}/", user=user, password=self.tokens[user]
        )

    def headers(self, user: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}", "Accept": TAXII, **extra}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp("taxii")
    with database(request.param, directory) as url:
        tokens = {
            "a-sys": add_system(url, username="a-sys", agency="a", role="supervisor"),
            "b-sys": add_system(url, username="b-sys", agency="b"),
            "c-sys": add_system(url, username="c-sys", agency="c"),
        }
        engine = make_engine(url)
        with session_scope(session_factory(engine)) as session:
            store.add_collection(
                session=session,
                agency="a",
                title="seizures",
                description="shared seizures",
                readers=["b"],
                collection_id=COLLECTION,
            )
            store.add_collection(session=session, agency="a", title="internal", collection_id=HIDDEN)
        engine.dispose()
        with borderwatch_serve(url, directory) as base:
            yield Site(base, tokens, request.param)


def _valid(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        result = validate_instance(obj, STRICT)
        assert result.is_valid, [str(e) for e in result.errors]


def test_every_endpoint_through_the_reference_client(site: Site) -> None:
    server = Server(f"{site.base}/taxii2/", user="a-sys", password=site.tokens["a-sys"])
    assert server.title == "borderwatch TAXII 2.1"
    root = server.api_roots[0]
    assert root.url == f"{site.base}/taxii2/api/"
    assert root.versions == [TAXII]
    assert root.max_content_length == 256 * 1024
    assert sorted(c.title for c in root.collections) == ["internal", "seizures"]

    collection = site.collection("a-sys")
    assert collection.can_read and collection.can_write
    versions = [indicator(n, marking=AMBER) for n in range(7)]
    status = collection.add_objects({"objects": versions})
    assert (status.status, status.success_count, status.failure_count) == ("complete", 7, 0)
    again = collection.add_objects({"objects": versions[:2]})  # idempotent by (id, modified)
    assert again.success_count == 2
    newer = indicator(0, marking=AMBER, modified=stamp(30))
    collection.add_objects({"objects": [newer]})
    assert (
        Server(f"{site.base}/taxii2/", user="a-sys", password=site.tokens["a-sys"])
        .api_roots[0]
        .get_status(status.id)
        .success_count
        == 7
    )

    latest = collection.get_objects()["objects"]
    assert len(latest) == 7
    assert next(o for o in latest if o["id"] == newer["id"])["modified"] == newer["modified"]
    _valid(latest)
    every = collection.get_objects(version="all")["objects"]
    assert len(every) == 8
    first = collection.get_objects(version="first", id=newer["id"])["objects"]
    assert [o["modified"] for o in first] == [stamp(0)]
    exact = collection.get_objects(version=stamp(30))["objects"]
    assert [o["id"] for o in exact] == [newer["id"]]
    assert collection.get_objects(type="identity") == {}
    assert len(collection.get_objects(type="indicator", spec_version="2.1")["objects"]) == 7
    by_id = collection.get_objects(id=f"{versions[1]['id']},{versions[2]['id']}")["objects"]
    assert {o["id"] for o in by_id} == {versions[1]["id"], versions[2]["id"]}

    pages = list(as_pages(collection.get_objects, per_request=3))
    assert [len(p["objects"]) for p in pages] == [3, 3, 1]
    assert [p["more"] for p in pages] == [True, True, False]
    paged = [o["id"] for p in pages for o in p["objects"]]
    assert sorted(paged) == sorted(o["id"] for o in latest)

    manifest = collection.get_manifest()["objects"]
    assert {m["id"] for m in manifest} == {o["id"] for o in latest}
    assert all(m["media_type"] == "application/stix+json;version=2.1" for m in manifest)
    last_added = manifest[-1]["date_added"]
    assert collection.get_objects(added_after=last_added) == {}
    later = [m["id"] for m in collection.get_manifest(added_after=manifest[0]["date_added"])["objects"]]
    assert newer["id"] in later

    one = collection.get_object(newer["id"])["objects"]
    assert [o["modified"] for o in one] == [newer["modified"]]
    assert collection.object_versions(newer["id"])["versions"] == [stamp(30), stamp(0)]

    collection.delete_object(newer["id"], version=stamp(30))
    assert collection.object_versions(newer["id"])["versions"] == [stamp(0)]
    assert collection.get_object(newer["id"])["objects"][0]["modified"] == stamp(0)
    collection.delete_object(newer["id"])
    with pytest.raises(HTTPError, match="404"):
        collection.get_object(newer["id"])
    assert len(collection.get_objects()["objects"]) == 6


def test_a_partner_sees_only_what_it_may(site: Site) -> None:
    server = Server(f"{site.base}/taxii2/", user="b-sys", password=site.tokens["b-sys"])
    assert [c.title for c in server.api_roots[0].collections] == ["seizures"]
    partner = site.collection("b-sys")
    assert partner.can_read and not partner.can_write
    hidden = httpx.get(f"{site.base}/taxii2/api/collections/{HIDDEN}/objects/", headers=site.headers("b-sys"))
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == TAXII
    write = httpx.post(
        f"{site.base}/taxii2/api/collections/{COLLECTION}/objects/",
        headers=site.headers("b-sys", **{"Content-Type": TAXII}),
        content=json.dumps({"objects": [indicator(99)]}),
    )
    assert write.status_code == 403
    assert json.loads(write.text)["http_status"] == "403"
    outsider = httpx.get(f"{site.base}/taxii2/api/collections/", headers=site.headers("c-sys"))
    assert (outsider.status_code, outsider.json()) == (200, {})


def test_bad_input_gets_the_spec_errors_and_a_mixed_envelope_is_stored_in_part(site: Site) -> None:
    url = f"{site.base}/taxii2/api/collections/{COLLECTION}/objects/"
    post = site.headers("a-sys", **{"Content-Type": TAXII})
    malformed = httpx.post(url, headers=post, content=b'{"objects": [')
    assert malformed.status_code == 400
    body = malformed.json()
    assert {"title", "description", "http_status"} <= set(body)
    assert httpx.post(url, headers=post, content=b'{"items": []}').status_code == 400
    wrong_type = httpx.post(url, headers={**post, "Content-Type": "application/json"}, content=b"{}")
    assert wrong_type.status_code == 415
    too_large = httpx.post(url, headers=post, content=json.dumps({"objects": ["x" * 300_000]}))
    assert too_large.status_code == 413
    assert httpx.get(url, headers={**post, "Accept": "text/html"}).status_code == 406
    assert httpx.get(url, headers={"Accept": TAXII}).status_code == 401
    assert httpx.get(url, headers={"Accept": TAXII, "Authorization": "Bearer bw_wrong"}).status_code == 401
    # a body is refused before it is read, in TAXII's format: a stranger's (with or without Basic), or one
    # over the envelope limit even from a partner speaking Basic
    stranger = httpx.post(url, headers={"Content-Type": TAXII, "Accept": TAXII}, content=b'{"objects": []}')
    assert stranger.status_code == 401 and stranger.json()["http_status"] == "401"
    assert stranger.headers["www-authenticate"].startswith("Basic")
    wrong_basic = httpx.post(url, headers={"Content-Type": TAXII}, auth=("a-sys", "wrong"), content=b"{}")
    assert wrong_basic.status_code == 401
    basic_large = httpx.post(
        url,
        headers={"Content-Type": TAXII, "Accept": TAXII},
        auth=("a-sys", post["Authorization"].split()[1]),
        content=json.dumps({"objects": ["x" * 300_000]}),
    )
    assert basic_large.status_code == 413 and basic_large.headers["content-type"].startswith(
        "application/taxii+json"
    )

    good = indicator(200)
    not_stix = {**indicator(201), "spec_version": "2.0"}
    bad_pattern = {**indicator(202), "pattern": "[x-customs-declaration:hs_code = "}
    unknown_marking = {
        **indicator(203),
        "object_marking_refs": ["marking-definition--00000000-0000-4000-8000-000000000000"],
    }
    mixed = httpx.post(
        url, headers=post, content=json.dumps({"objects": [good, not_stix, bad_pattern, unknown_marking, 7]})
    )
    assert mixed.status_code == 202
    status = mixed.json()
    assert (status["success_count"], status["failure_count"], status["total_count"]) == (1, 4, 5)
    reasons = {f["id"]: f["message"] for f in status["failures"]}
    assert "spec_version" in reasons[not_stix["id"]]
    assert "pattern" in reasons[bad_pattern["id"]]
    assert "unknown marking" in reasons[unknown_marking["id"]]
    assert reasons["unknown"] == "not a JSON object"
    stored = site.collection("a-sys").get_objects(id=good["id"])["objects"]
    assert [o["id"] for o in stored] == [good["id"]]
    fetched = httpx.get(f"{site.base}/taxii2/api/status/{status['id']}/", headers=site.headers("a-sys"))
    assert fetched.json()["failure_count"] == 4
    other = httpx.get(f"{site.base}/taxii2/api/status/{status['id']}/", headers=site.headers("b-sys"))
    assert other.status_code == 404


# --- differential: the same requests to medallion and to borderwatch --------------------------------------


def _shape(value: Any) -> Any:
    """Keys and value kinds, recursively; a list by the union of its items' shapes."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        shapes = [_shape(item) for item in value]
        if shapes and all(isinstance(s, dict) for s in shapes):
            merged: dict[str, Any] = {}
            for s in shapes:
                merged.update(s)
            return [dict(sorted(merged.items()))]
        return sorted({json.dumps(s) for s in shapes})
    return type(value).__name__


@pytest.fixture(scope="module")
def medallion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("medallion")
    with medallion_serve(
        directory,
        [
            {
                "id": COLLECTION,
                "title": "seizures",
                "description": "shared seizures",
                "can_read": True,
                "can_write": True,
            }
        ],
    ) as base:
        yield base


def test_borderwatch_answers_like_medallion(site: Site, medallion: str) -> None:
    if site.kind != "sqlite":
        pytest.skip("the same server code: compared once, on SQLite")
    ours_root, theirs_root = f"{site.base}/taxii2/api", f"{medallion}/api"
    ours = httpx.Client(headers=site.headers("a-sys"), timeout=30)
    theirs = httpx.Client(auth=("partner", "partner-password"), headers={"Accept": TAXII}, timeout=30)
    objects = [indicator(500 + n) for n in range(4)]
    objects.append(indicator(500, modified=stamp(40)))
    envelope = json.dumps({"objects": objects})

    def both(method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, httpx.Response]:
        return (
            ours.request(method, f"{ours_root}{path}", **kwargs),
            theirs.request(method, f"{theirs_root}{path}", **kwargs),
        )

    collection = f"/collections/{COLLECTION}"
    post = {"headers": {"Content-Type": TAXII}, "content": envelope}
    added = both("POST", f"{collection}/objects/", **post)
    statuses = [r.json()["id"] for r in added]
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/", {}),
        ("GET", "/collections/", {}),
        ("GET", f"{collection}/", {}),
        ("GET", f"{collection}/objects/", {"params": {"match[id]": objects[1]["id"]}}),
        ("GET", f"{collection}/objects/", {"params": {"match[type]": "indicator", "limit": "2"}}),
        ("GET", f"{collection}/objects/", {"params": {"match[type]": "malware"}}),
        (
            "GET",
            f"{collection}/objects/",
            {"params": {"match[version]": "all", "match[id]": objects[0]["id"]}},
        ),
        ("GET", f"{collection}/manifest/", {"params": {"match[id]": objects[2]["id"]}}),
        ("GET", f"{collection}/objects/{objects[0]['id']}/", {}),
        ("GET", f"{collection}/objects/{objects[0]['id']}/versions/", {}),
        ("GET", f"{collection}/objects/indicator--00000000-0000-4000-8000-000000000000/", {}),
        ("GET", "/collections/00000000-0000-4000-8000-000000000000/objects/", {}),
        ("GET", f"{collection}/objects/", {"headers": {"Accept": "application/xml"}}),
        ("POST", f"{collection}/objects/", {"headers": {"Content-Type": "application/xml"}, "content": "{}"}),
        ("DELETE", f"{collection}/objects/{objects[3]['id']}/", {}),
    ]
    compared = [added]
    for method, path, kwargs in requests:
        compared.append(both(method, path, **kwargs))
    compared.append(
        (
            ours.get(f"{ours_root}/status/{statuses[0]}/"),
            theirs.get(f"{theirs_root}/status/{statuses[1]}/"),
        )
    )
    compared.append(
        (
            httpx.get(f"{ours_root}/collections/", headers={"Accept": TAXII}),
            httpx.get(f"{theirs_root}/collections/", headers={"Accept": TAXII}),
        )
    )
    for mine, reference in compared:
        where = f"{reference.request.method} {reference.request.url}"
        assert mine.status_code == reference.status_code, where
        if reference.status_code == 401:
            continue  # medallion's login layer answers in plain text
        assert mine.headers.get("content-type") == reference.headers.get("content-type"), where
        if reference.content:
            theirs_shape, ours_shape = _shape(reference.json()), _shape(mine.json())
            if reference.status_code >= 400:
                assert set(theirs_shape) <= set(ours_shape), where
            else:
                assert ours_shape == theirs_shape, where
        else:
            assert not mine.content, where
