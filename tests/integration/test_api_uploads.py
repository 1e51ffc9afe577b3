"""File upload as a background job with progress, through the ingest service."""

from __future__ import annotations

import json

import pytest

from borderwatch.core.settings import Settings
from tests.integration.api_support import World, assert_error, build_world, client_for, declaration_json


@pytest.fixture
def world(settings: Settings) -> World:
    return build_world(settings)


def test_upload_runs_as_a_job_and_reports_what_was_stored(world: World) -> None:
    good = [json.dumps(declaration_json(f"U-{i:03d}")) for i in range(20)]
    bad = json.dumps({**declaration_json("U-BAD"), "office": ""})
    content = ("\n".join([*good, bad]) + "\n").encode()
    with client_for(world.settings) as client:
        response = client.post(
            "/api/uploads",
            files={"file": ("week.jsonl", content, "application/x-ndjson")},
            data={"format": "jsonl"},
            headers=world.auth("analyst_a"),
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        job = client.get(f"/api/jobs/{job_id}", headers=world.auth("analyst_a")).json()
        assert job["status"] == "done", job
        assert job["progress"] == 1.0 and job["done"] == len(content)
        assert job["result"]["stored"] == 20 and job["result"]["quarantined"] == 1
        stored = client.get("/api/declarations/U-007", headers=world.auth("analyst_a"))
        assert stored.status_code == 200 and stored.json()["agency"] == "a"
        assert_error(client.get(f"/api/jobs/{job_id}", headers=world.auth("analyst_b")), 404)
        listed = client.get("/api/jobs", headers=world.auth("supervisor_a")).json()
        assert [j["id"] for j in listed["items"]] == [job_id]


def test_upload_refusals(world: World) -> None:
    with client_for(world.settings) as client:
        files = {"file": ("x.jsonl", b"{}\n", "application/x-ndjson")}
        assert_error(client.post("/api/uploads", files=files), 401)
        assert_error(client.post("/api/uploads", files=files, headers=world.auth("inspector_a")), 403)
        exe = {"file": ("x.exe", b"MZ", "application/octet-stream")}
        assert (
            assert_error(client.post("/api/uploads", files=exe, headers=world.auth("analyst_a")), 415)[
                "field"
            ]
            == "file"
        )
        empty = {"file": ("x.csv", b"", "text/csv")}
        assert_error(client.post("/api/uploads", files=empty, headers=world.auth("analyst_a")), 422)
        assert_error(client.post("/api/uploads", headers=world.auth("analyst_a")), 422, "validation_error")


def test_unreadable_upload_ends_as_failed_job_with_reason(world: World) -> None:
    with client_for(world.settings) as client:
        files = {"file": ("garbage.jsonl", b"\n\n   \n", "application/x-ndjson")}
        response = client.post("/api/uploads", files=files, headers=world.auth("analyst_a"))
        assert response.status_code == 202
        job = client.get(f"/api/jobs/{response.json()['id']}", headers=world.auth("analyst_a")).json()
    assert job["status"] == "failed" and "empty" in job["message"]
