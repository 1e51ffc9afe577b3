"""The TAXII 2.1 server against OASIS medallion (the reference server, memory backend), over HTTP, same run.

    .venv/bin/python bench/intel.py [--objects 100000] [--medallion-objects 2000] [--quick]

Set-up (not timed): a fresh SQLite database with one collection and an API token; ``borderwatch serve`` and
medallion each in a subprocess on loopback. Objects: STIX 2.1 (strict-valid) in equal parts indicators
(distinct STIX patterns, each parsed on ingest), incidents, identities and relationships, all TLP:GREEN.

- ingest: envelopes of 1,000 objects POSTed one after the other (the status resource returned);
- read:   every object read back page by page (``limit=1000`` and the ``next`` token), one client.

medallion keeps a collection as a Python list and checks each new object against all stored ones (quadratic
ingest), and re-filters the whole collection for every first page: it is given fewer objects
(``--medallion-objects``); rates are objects per second, so they compare. Reports objects/s, per-request p50
and p99, and borderwatch's ratio to medallion; writes bench/results/intel.json. Goals: >= 5,000 objects/s
ingested on SQLite and >= 10x medallion. Other helpers share the machine's two cores: absolute figures move
with their load, the ratio less so (both servers run in the same minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

from tests.integration.intel_support import (  # noqa: E402 - the same servers the tests start
    GREEN,
    TAXII,
    add_system,
    borderwatch_serve,
    database,
    medallion_serve,
)

ENVELOPE = 1000
PAGE = 1000
COLLECTION = "4d0f2a9e-6c1b-4f3a-8e7d-2b9c0a1f5e63"
CREATED = "2026-11-01T12:00:00.000Z"
IDENTITY = "identity--7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f"


def _id(kind: str, number: int) -> str:
    return f"{kind}--{uuid.UUID(bytes=uuid.uuid5(uuid.NAMESPACE_OID, f'{kind}{number}').bytes, version=4)}"


def make_objects(count: int) -> list[dict[str, Any]]:
    common = {"spec_version": "2.1", "created": CREATED, "modified": CREATED, "object_marking_refs": [GREEN]}
    objects: list[dict[str, Any]] = []
    for number in range(count):
        match number % 4:
            case 0:
                objects.append(
                    {
                        "type": "indicator",
                        "id": _id("indicator", number),
                        **common,
                        "created_by_ref": IDENTITY,
                        "name": f"consignments of HS {number:06d}",
                        "description": "a route seen in seizures",
                        "indicator_types": ["malicious-activity"],
                        "pattern": f"[x-customs-declaration:hs_code = '{number:06d}' AND "
                        f"x-customs-declaration:origin_country = 'VN']",
                        "pattern_type": "stix",
                        "valid_from": CREATED,
                    }
                )
            case 1:
                objects.append(
                    {
                        "type": "incident",
                        "id": _id("incident", number),
                        **common,
                        "created_by_ref": IDENTITY,
                        "name": f"seizure {number}",
                        "description": "cigarettes under a false floor",
                    }
                )
            case 2:
                objects.append(
                    {
                        "type": "identity",
                        "id": _id("identity", number),
                        **common,
                        "name": f"Trading Company {number} Ltd",
                        "identity_class": "organization",
                    }
                )
            case _:
                objects.append(
                    {
                        "type": "relationship",
                        "id": _id("relationship", number),
                        **common,
                        "created_by_ref": IDENTITY,
                        "relationship_type": "related-to",
                        "source_ref": _id("incident", number - 2),
                        "target_ref": _id("identity", number - 1),
                    }
                )
    return objects


def run(client: httpx2.Client, collection_url: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
    post_times: list[float] = []
    started = time.perf_counter()
    for start in range(0, len(objects), ENVELOPE):
        body = json.dumps({"objects": objects[start : start + ENVELOPE]})
        began = time.perf_counter()
        response = client.post(
            f"{collection_url}objects/", content=body, headers={"Content-Type": TAXII, "Accept": TAXII}
        )
        post_times.append(time.perf_counter() - began)
        status = response.json()
        if response.status_code != 202 or status.get("success_count") != min(ENVELOPE, len(objects) - start):
            raise RuntimeError(f"POST failed: {response.status_code} {str(status)[:300]}")
    ingest_seconds = time.perf_counter() - started
    get_times: list[float] = []
    read = 0
    params: dict[str, str] = {"limit": str(PAGE)}
    started = time.perf_counter()
    while True:
        began = time.perf_counter()
        response = client.get(f"{collection_url}objects/", params=params, headers={"Accept": TAXII})
        get_times.append(time.perf_counter() - began)
        page = response.json()
        read += len(page.get("objects", []))
        if not page.get("more"):
            break
        params = {"limit": str(PAGE), "next": page["next"]}
    read_seconds = time.perf_counter() - started
    if read != len(objects):
        raise RuntimeError(f"read back {read} objects of {len(objects)}")
    return {
        "objects": len(objects),
        "ingest_objects_per_s": len(objects) / ingest_seconds,
        "post_p50_ms": float(np.percentile(post_times, 50) * 1000),
        "post_p99_ms": float(np.percentile(post_times, 99) * 1000),
        "read_objects_per_s": read / read_seconds,
        "get_p50_ms": float(np.percentile(get_times, 50) * 1000),
        "get_p99_ms": float(np.percentile(get_times, 99) * 1000),
        "requests": len(post_times) + len(get_times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--medallion-objects", type=int, default=2_000)
    parser.add_argument("--quick", action="store_true", help="10,000 and 1,000 objects")
    args = parser.parse_args()
    if args.quick:
        args.objects, args.medallion_objects = 10_000, 1_000
    console = Console()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        os.environ.setdefault("BORDERWATCH_HTTP_MAX_JSON_BYTES", str(64 << 20))
        with database("sqlite", directory) as url:
            token = add_system(url, username="bench", agency="a")
            from borderwatch.db.session import make_engine, session_factory, session_scope
            from borderwatch.intel import store

            engine = make_engine(url)
            with session_scope(session_factory(engine)) as session:
                store.add_collection(session=session, agency="a", title="bench", collection_id=COLLECTION)
            engine.dispose()
            with (
                borderwatch_serve(url, directory, max_content_length=64 << 20) as base,
                httpx2.Client(headers={"Authorization": f"Bearer {token}"}, timeout=3600) as client,
            ):
                console.print(f"borderwatch: {args.objects:,} objects …")
                results["borderwatch"] = run(
                    client, f"{base}/taxii2/api/collections/{COLLECTION}/", make_objects(args.objects)
                )
        collection = {"id": COLLECTION, "title": "bench", "can_read": True, "can_write": True}
        with (
            medallion_serve(directory, [collection], max_content_length=64 << 20) as base,
            httpx2.Client(auth=("partner", "partner-password"), timeout=3600) as client,
        ):
            console.print(f"medallion: {args.medallion_objects:,} objects …")
            results["medallion"] = run(
                client, f"{base}/api/collections/{COLLECTION}/", make_objects(args.medallion_objects)
            )
    ours, theirs = results["borderwatch"], results["medallion"]
    results["ratio_ingest"] = ours["ingest_objects_per_s"] / theirs["ingest_objects_per_s"]
    results["ratio_read"] = ours["read_objects_per_s"] / theirs["read_objects_per_s"]
    results["goals"] = {
        "ingest_objects_per_s>=5000": ours["ingest_objects_per_s"] >= 5000,
        "ingest>=10x_medallion": results["ratio_ingest"] >= 10,
        "read>=10x_medallion": results["ratio_read"] >= 10,
    }
    results["load_average"] = os.getloadavg()
    table = Table(title="TAXII 2.1 over HTTP: envelopes of 1,000 objects POSTed, pages of 1,000 read")
    for column in (
        "server",
        "objects",
        "ingest obj/s",
        "POST p50 ms",
        "POST p99 ms",
        "read obj/s",
        "GET p50 ms",
        "GET p99 ms",
    ):
        table.add_column(column, justify="right")
    for name in ("borderwatch", "medallion"):
        r = results[name]
        table.add_row(
            name,
            f"{r['objects']:,}",
            f"{r['ingest_objects_per_s']:,.0f}",
            f"{r['post_p50_ms']:.0f}",
            f"{r['post_p99_ms']:.0f}",
            f"{r['read_objects_per_s']:,.0f}",
            f"{r['get_p50_ms']:.0f}",
            f"{r['get_p99_ms']:.0f}",
        )
    console.print(table)
    console.print(
        f"borderwatch / medallion: ingest {results['ratio_ingest']:.1f}x, read {results['ratio_read']:.1f}x; "
        f"load average {results['load_average'][0]:.1f} (other helpers share the 2 cores)"
    )
    out = BENCH_DIR / "results" / "intel.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
