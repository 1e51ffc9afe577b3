"""Servers for the intelligence tests: ``borderwatch serve`` and medallion on loopback ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx

from borderwatch.access import service as access
from borderwatch.db.session import make_engine, session_factory, session_scope
from tests.conftest import migrated, postgres_schema

TAXII = "application/taxii+json;version=2.1"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], auth: Any = None, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server at {url} exited with {process.returncode}")
        try:
            httpx.get(url, auth=auth, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"the server at {url} did not start within {seconds} s")


@contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    """A migrated, empty database URL of ``kind`` (sqlite or postgres, a schema dropped afterwards)."""
    if kind == "sqlite":
        yield migrated(f"sqlite:///{directory / f'intel-{uuid.uuid4().hex[:6]}.db'}")
        return
    with postgres_schema() as url:
        yield migrated(url)


@contextmanager
def borderwatch_serve(
    database_url: str, directory: Path, *, agency: str = "a", max_content_length: int = 256 * 1024
) -> Iterator[str]:
    """``borderwatch serve`` on a free loopback port; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "BORDERWATCH_DATABASE_URL": database_url,
        "BORDERWATCH_DATA_DIR": str(directory / "data"),
        "BORDERWATCH_AGENCY": agency,
        "BORDERWATCH_INTEL_MAX_CONTENT_LENGTH": str(max_content_length),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "borderwatch.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{base}/taxii2/", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def medallion_serve(
    directory: Path, collections: list[dict[str, Any]], *, max_content_length: int = 256 * 1024
) -> Iterator[str]:
    """OASIS medallion (memory backend) on a free loopback port with ``collections`` under ``api``."""
    port = free_port()
    data = {
        "/discovery": {
            "title": "medallion",
            "description": "reference server",
            "contact": "test",
            "default": f"http://127.0.0.1:{port}/api/",
            "api_roots": [f"http://127.0.0.1:{port}/api/"],
        },
        "api": {
            "information": {
                "title": "api",
                "description": "api root",
                "versions": [TAXII],
                "max_content_length": max_content_length,
            },
            "status": [],
            "collections": [
                {**c, "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []}
                for c in collections
            ],
        },
    }
    (directory / "medallion-data.json").write_text(json.dumps(data))
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(directory / "medallion-data.json"),
        },
        "users": {"partner": "partner-password"},
        "taxii": {"max_page_size": 1000},
    }
    (directory / "medallion.json").write_text(json.dumps(config))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "medallion.scripts.run",
            "--port",
            str(port),
            str(directory / "medallion.json"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{base}/taxii2/", process, auth=("partner", "partner-password"))
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def add_system(database_url: str, *, username: str, agency: str, role: str = "analyst") -> str:
    """A system account of ``agency`` and an API token for it (the secret)."""
    engine = make_engine(database_url)
    try:
        with session_scope(session_factory(engine)) as session:
            access.add_user(db_session=session, username=username, role=role, agency=agency, password=None)
            _, secret = access.create_token(db_session=session, username=username, name="taxii")
    finally:
        engine.dispose()
    return secret


def stamp(seconds: int = 0) -> str:
    moment = datetime(2026, 11, 1, 12, 0, seconds % 60, tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def indicator(number: int, *, marking: str = GREEN, modified: str | None = None) -> dict[str, Any]:
    """A valid STIX 2.1 indicator (strict-valid) with a fixed id per ``number``."""
    created = stamp(0)
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(bytes=uuid.uuid5(uuid.NAMESPACE_URL, f'i{number}').bytes, version=4)}",
        "created_by_ref": "identity--0b9e2bd4-7d6a-4d4c-9c23-6a5f1d3b1f00",
        "created": created,
        "modified": modified or created,
        "name": f"consignments of HS {number:06d}",
        "description": "test indicator",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[x-customs-declaration:hs_code = '{number:06d}']",
        "pattern_type": "stix",
        "valid_from": created,
        "object_marking_refs": [marking],
    }
