"""The server's operational promises, in process on SQLite and PostgreSQL: bodies refused before they are
read, upload jobs that report real progress, end clearly and leave no file, interrupted jobs marked failed,
and responses that match the OpenAPI document (time zones, ``Allow``, documented statuses)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.access.models import JobRow
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory
from borderwatch.web import jobs
from tests.integration.api_support import World, assert_error, build_world, client_for, declaration_json, seed

OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)$")


@pytest.fixture
def world(settings: Settings) -> World:
    return build_world(settings.model_copy(update={"ingest_batch_size": 4}))


def test_health_answers_without_credentials(world: World) -> None:
    with client_for(world.settings) as client:
        response = client.get("/api/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_a_body_is_refused_before_it_is_read(world: World) -> None:
    """Unauthenticated: 401 whatever the body (it is not parsed: this one is not even JSON); over the cap of
    its endpoint: 413 from the Content-Length alone; both close the connection."""
    with client_for(world.settings) as client:
        refused = client.post(
            "/api/declarations", content=b"not json at all", headers={"content-type": "application/json"}
        )
        assert_error(refused, 401, "unauthenticated")
        assert refused.headers["connection"] == "close"
        big = b"[" + b"1," * (world.settings.http_max_json_bytes // 2) + b"1]"
        too_large = client.post(
            "/api/declarations",
            content=big,
            headers={**world.auth("analyst_a"), "content-type": "application/json"},
        )
        assert assert_error(too_large, 413, "too_large")["field"] == "body"
        assert too_large.headers["connection"] == "close"
        # the batch endpoint takes more than a single declaration's endpoint
        batch = client.post(
            "/api/declarations/batch",
            content=big,
            headers={**world.auth("analyst_a"), "content-type": "application/json"},
        )
        assert batch.status_code == 422, batch.text
        # a page's form without a session goes to the login page, unread
        page = client.post(
            "/profiles",
            content=b"text=x",
            headers={"content-type": "application/x-www-form-urlencoded", "accept": "text/html"},
            follow_redirects=False,
        )
        assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_a_405_names_the_allowed_methods(world: World) -> None:
    with client_for(world.settings) as client:
        response = client.delete("/api/worklist", headers=world.auth("analyst_a"))
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"


def test_timestamps_carry_their_time_zone(world: World, tmp_path: Path) -> None:
    seed(world.settings, agency="a", lrns=["T-001", "T-002"], tmp=tmp_path)
    with client_for(world.settings) as client:
        declaration = client.get("/api/declarations/T-001", headers=world.auth("analyst_a")).json()
        cases = client.get("/api/cases", headers=world.auth("analyst_a")).json()["items"]
        audit = client.get("/api/audit", headers=world.auth("supervisor_a")).json()["items"]
    stamps = [declaration["decision"]["decided_at"], *(c["opened_at"] for c in cases)]
    stamps += [row["at"] for row in audit]
    assert len(stamps) >= 3
    assert all(OFFSET.search(stamp) for stamp in stamps), stamps


def test_openapi_documents_the_statuses_it_answers(world: World) -> None:
    with client_for(world.settings) as client:
        document = client.get("/openapi.json").json()
    upload = document["paths"]["/api/uploads"]["post"]["responses"]
    assert {"413", "415"} <= set(upload)
    assert "413" in document["paths"]["/api/declarations"]["post"]["responses"]


def _upload(client: Any, world: World, name: str, content: bytes) -> dict[str, Any]:
    response = client.post(
        "/api/uploads",
        files={"file": (name, content, "application/x-ndjson")},
        headers=world.auth("analyst_a"),
    )
    assert response.status_code == 202, response.text
    job = client.get(f"/api/jobs/{response.json()['id']}", headers=world.auth("analyst_a")).json()
    assert isinstance(job, dict)
    return job


def test_upload_progress_counts_every_batch_and_the_file_is_deleted(world: World) -> None:
    lines = [json.dumps(declaration_json(f"P-{i:03d}")) for i in range(20)]
    content = ("\n".join(lines) + "\n").encode()
    reported: list[int] = []
    with client_for(world.settings) as client:
        engine = client.app.state.borderwatch.engine  # type: ignore[attr-defined]

        def watch(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
            if statement.startswith("UPDATE jobs"):
                done = context.compiled_parameters[0].get("done")
                if isinstance(done, int):
                    reported.append(done)

        event.listen(engine, "before_cursor_execute", watch)
        job = _upload(client, world, "week.jsonl", content)
    assert job["status"] == "done" and job["done"] == len(content)
    # 20 records in batches of 4: five reports, each further than the last, the last at the end of the file
    assert len(reported) == 5, reported
    assert reported == sorted(reported) and len(set(reported)) == 5
    assert reported[-1] == len(content) and reported[0] < len(content) / 4
    assert list(jobs.upload_dir(world.settings.data_dir).iterdir()) == []


def test_a_failed_upload_names_the_file_not_the_server_path_and_is_deleted(world: World) -> None:
    with client_for(world.settings) as client:
        job = _upload(client, world, "garbage.jsonl", b"\n\n   \n")
    assert job["status"] == "failed"
    assert "garbage.jsonl" in job["message"], job
    assert str(world.settings.data_dir) not in job["message"] and "uploads" not in job["message"], job
    assert list(jobs.upload_dir(world.settings.data_dir).iterdir()) == []


def test_a_job_failing_on_a_database_error_shows_no_sql(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        job = jobs.create_job(db_session=session, kind="ingest", agency="a", created_by="x", total=10)
        session.commit()
        job_id = job.id

    def work(_progress: Any) -> dict[str, Any]:
        raise OperationalError("INSERT INTO declarations (lrn) VALUES (?)", ("L1",), Exception("disk I/O"))

    jobs.run_job(factory=session_factory, job_id=job_id, work=work)
    with session_factory() as session:
        row = session.get(JobRow, job_id)
        assert row is not None
        assert row.status == "failed"
        assert row.message == jobs.UNEXPECTED.format(job_id=job_id)
        assert "INSERT" not in row.message and "disk" not in row.message


def test_jobs_left_running_by_a_stopped_server_are_failed_at_start_up(world: World) -> None:
    """A job whose server died (its row untouched for longer than the heartbeat allows) is failed when a
    server starts, and its uploaded file deleted; a job whose server is alive (touched just now) is not."""
    engine = make_engine(world.settings.database_url)
    now = datetime.now(UTC)
    with session_factory(engine)() as session:
        for job_id, touched in (("a" * 32, now - timedelta(hours=1)), ("b" * 32, now)):
            session.execute(
                insert(JobRow).values(
                    id=job_id,
                    kind="ingest",
                    agency="a",
                    created_by="analyst_a",
                    status="running",
                    total=100,
                    done=40,
                    updated_at=touched,
                )
            )
        session.commit()
    engine.dispose()
    leftover = jobs.upload_dir(world.settings.data_dir) / f"{'a' * 32}.jsonl"
    leftover.write_text("{}\n")
    with client_for(world.settings) as client:
        assert not leftover.exists()  # at start-up, before any request
        dead = client.get(f"/api/jobs/{'a' * 32}", headers=world.auth("analyst_a")).json()
        alive = client.get(f"/api/jobs/{'b' * 32}", headers=world.auth("analyst_a")).json()
    assert dead["status"] == "failed" and dead["message"] == jobs.INTERRUPTED
    assert alive["status"] == "running"


def test_a_profile_nested_too_deep_is_refused_and_leaves_no_file(world: World) -> None:
    condition: dict[str, Any] = {"field": "hs2", "op": "in", "value": ["61"]}
    for _ in range(140):
        condition = {"all": [condition]}
    body = {"id": "RP-DEEP", "name": "deep", "rationale": "r", "author": "a", "when": condition}
    body["effect"] = {"add_points": 10}
    with client_for(world.settings) as client:
        response = client.post("/api/profiles", json=body, headers=world.auth("analyst_a"))
        listed = client.get("/api/profiles", headers=world.auth("analyst_a")).json()
    error = assert_error(response, 422)
    assert error["field"] == "when" and "nested" in str(error["message"])
    directory = world.settings.data_dir / "profiles" / "a"
    assert [p.name for p in directory.iterdir() if not p.name.endswith(".yaml")] == []
    assert "RP-DEEP" not in {p["id"] for p in listed["items"]}
