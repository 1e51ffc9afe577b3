"""The demo's intelligence exchange: two agencies on this machine, each with its own SQLite file and its own
borderwatch server on a loopback port. Agency A shares the indicator its seizure gave it over TAXII 2.1;
agency B pulls it with the reference client, and B's next matching declaration is scored with A's indicator
as a reason; B's count of matches goes back to A as a sighting (no declaration detail).

Everything runs offline (loopback only) in a few seconds; ``run_intel_demo`` returns what it showed.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console

from borderwatch.access import service as access
from borderwatch.access.policy import TLP, Principal, Role
from borderwatch.core.settings import Settings
from borderwatch.db.session import engine_from_settings, migrate, session_factory, session_scope
from borderwatch.intel import exchange, sharing, store
from borderwatch.scoring.profile_store import agency_profiles_dir, write_profile
from borderwatch.scoring.profiles import RiskProfile
from borderwatch.web.app import create_app

AGENCY_A, AGENCY_B = "nzcs", "abf"
COLLECTION = "5b7e0c1d-2f3a-4b5c-8d6e-7f8091a2b3c4"
PROFILE_ID = "RP-SEIZED-CIGARETTES"
PARTNER_USER = f"{AGENCY_B}-on-{AGENCY_A}"


@dataclass(slots=True)
class Scored:
    lrn: str
    score: float
    lane: str | None
    reasons: list[str]


@dataclass(slots=True)
class IntelDemoResult:
    indicator_id: str | None = None
    shared_objects: int = 0
    pulled: int = 0
    profiles: list[str] = field(default_factory=list)
    before: Scored | None = None
    after: Scored | None = None
    sightings_at_a: list[dict[str, Any]] = field(default_factory=list)
    ports: tuple[int, int] = (0, 0)


def seizure_indicator(today: datetime) -> RiskProfile:
    """The rule agency A wrote after its seizure: what a partner can act on, no declaration detail."""
    return RiskProfile.model_validate(
        {
            "id": PROFILE_ID,
            "name": "Cigarettes from Vietnam (seized under a false floor)",
            "rationale": "40,000 cigarettes seized under a container's false floor",
            "author": "risk-unit",
            "when": {
                "all": [
                    {"field": "hs_code", "op": "startswith", "value": "2402"},
                    {"field": "origin_country", "op": "eq", "value": "VN"},
                ]
            },
            "effect": {"add_points": 60},
            "valid_to": (today + timedelta(days=90)).date().isoformat(),
        }
    )


def _agency_settings(directory: Path, agency: str) -> Settings:
    """A fresh SQLite file and data folder for ``agency`` (a previous run's are replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    for leftover in ("borderwatch.db", "borderwatch.db-wal", "borderwatch.db-shm"):
        (directory / leftover).unlink(missing_ok=True)
    shutil.rmtree(directory / "data", ignore_errors=True)
    return Settings(
        database_url=f"sqlite:///{(directory / 'borderwatch.db').resolve()}",
        data_dir=directory / "data",
        agency=agency,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """``settings``' borderwatch app on a free loopback port, in a thread; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, name=f"borderwatch-{settings.agency}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the demo server of {settings.agency} did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _declaration(lrn: str, day: datetime) -> dict[str, Any]:
    return {
        "lrn": lrn,
        "date": day.date().isoformat(),
        "office": "AUSYD",
        "transport": {"mode": "10", "departure_country": "MY", "origin_country": "VN"},
        "parties": {"importer": {"id": "IMP-SYD-7", "name": "Harbour Trading Pty", "country": "AU"}},
        "items": [{"hs_code": "240220", "net_mass": 800.0, "customs_value": 1200.0, "currency": "AUD"}],
    }


def _submit(base: str, token: str, lrn: str, day: datetime) -> Scored:
    """A declaration submitted to agency B's API, as a broker's system would: stored, scored, laned."""
    request = urllib.request.Request(
        f"{base}/api/declarations",
        data=json.dumps(_declaration(lrn, day)).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    return Scored(lrn=lrn, score=float(body["score"]), lane=body.get("lane"), reasons=list(body["reasons"]))


def run_intel_demo(directory: Path, *, console: Console | None = None) -> IntelDemoResult:
    """Agency A shares its seizure's indicator, agency B pulls it and targets with it, A gets B's sighting."""
    console = console or Console()
    result = IntelDemoResult()
    now = datetime.now(UTC)
    settings_a = _agency_settings(directory / "agency-a", AGENCY_A)
    settings_b = _agency_settings(directory / "agency-b", AGENCY_B)
    engine_a, engine_b = engine_from_settings(settings_a), engine_from_settings(settings_b)
    try:
        migrate(engine_a)
        migrate(engine_b)
        with session_scope(session_factory(engine_a)) as session:
            access.add_user(
                db_session=session, username=PARTNER_USER, role="analyst", agency=AGENCY_B, password=None
            )
            _, partner_token = access.create_token(db_session=session, username=PARTNER_USER, name="taxii")
            store.add_collection(
                session=session,
                agency=AGENCY_A,
                title="pacific seizures",
                readers=[AGENCY_B],
                writers=[AGENCY_B],
                collection_id=COLLECTION,
                default_tlp=TLP.AMBER,
            )
            sharing.add_group(
                session=session, agency=AGENCY_A, name="pacific", members=[AGENCY_B], kinds=["indicator"]
            )
            write_profile(agency_profiles_dir(settings_a.data_dir, AGENCY_A), seizure_indicator(now))
            decision = sharing.share(
                session=session,
                engine=engine_a,
                data_dir=settings_a.data_dir,
                principal=Principal(
                    user_id=0, username="supervisor_a", role=Role.SUPERVISOR, agency=AGENCY_A, via="session"
                ),
                request=sharing.ShareRequest(
                    kind="indicator",
                    record_id=PROFILE_ID,
                    collection_id=COLLECTION,
                    tlp=TLP.AMBER,
                    group="pacific",
                ),
                now=now,
            )
            result.shared_objects = len(decision.object_ids)
            result.indicator_id = next(i for i in decision.object_ids if i.startswith("indicator--"))
        with session_scope(session_factory(engine_b)) as session:
            access.add_user(
                db_session=session, username="analyst_b", role="analyst", agency=AGENCY_B, password=None
            )
            _, analyst_token = access.create_token(db_session=session, username="analyst_b", name="demo")
        console.print(
            f"⑤ two agencies on this machine: [bold]{AGENCY_A}[/] shares its seizure's indicator "
            f"{result.indicator_id} (TLP:AMBER, group pacific, {result.shared_objects} STIX objects)"
        )
        with (
            serving(settings_a) as base_a,
            serving(settings_b) as base_b,
        ):
            result.ports = (int(base_a.rsplit(":", 1)[1]), int(base_b.rsplit(":", 1)[1]))
            result.before = _submit(base_b, analyst_token, "ABF-0001", now)
            url = f"{base_a}/taxii2/api/collections/{COLLECTION}/"
            with session_scope(session_factory(engine_b)) as session:
                partner = exchange.add_partner(
                    session=session, agency=AGENCY_B, name=AGENCY_A, collection_url=url
                )
                remote = exchange.client(partner, user=PARTNER_USER, secret=partner_token)
                pulled = exchange.pull(session=session, agency=AGENCY_B, partner=partner, remote=remote)
                used = exchange.use_received(  # B's choice: a partner's seizure indicator sends to red
                    session=session, agency=AGENCY_B, data_dir=settings_b.data_dir, force_lane="red"
                )
            result.pulled, result.profiles = pulled.stored, used.profiles
            result.after = _submit(base_b, analyst_token, "ABF-0002", now)
            with session_scope(session_factory(engine_b)) as session:
                exchange.record_sightings(
                    session=session, engine=engine_b, agency=AGENCY_B, data_dir=settings_b.data_dir
                )
                partner = exchange.get_partner(session=session, agency=AGENCY_B, name=AGENCY_A)
                exchange.push_sightings(
                    session=session,
                    agency=AGENCY_B,
                    partner=partner,
                    remote=exchange.client(partner, user=PARTNER_USER, secret=partner_token),
                )
        with session_scope(session_factory(engine_a)) as session:
            result.sightings_at_a = exchange.received_sightings(session=session, agency=AGENCY_A)
    finally:
        engine_a.dispose()
        engine_b.dispose()
    _print(console, result)
    return result


def _print(console: Console, result: IntelDemoResult) -> None:
    before, after = result.before, result.after
    assert before is not None and after is not None
    console.print(
        f"   [bold]{AGENCY_B}[/] before the pull: {before.lrn} (HS 240220 from VN) scores "
        f"{before.score:.0f}, "
        f"lane {before.lane}"
    )
    console.print(
        f"   {AGENCY_B} pulls over TAXII 2.1 (taxii2-client, {AGENCY_A}'s server on port {result.ports[0]}): "
        f"{result.pulled} objects stored, {len(result.profiles)} indicator now a risk profile of {AGENCY_B}"
    )
    shared = [r for r in after.reasons if AGENCY_A in r] or after.reasons[-1:]
    console.print(
        f"   {AGENCY_B} after the pull (its server on port {result.ports[1]}): {after.lrn} scores "
        f"[bold]{after.score:.0f}[/], lane [bold]{after.lane}[/], because: {'; '.join(shared)}"
    )
    counts = ", ".join(f"{s['partner']}: {s['count']} × {s['indicator']}" for s in result.sightings_at_a)
    console.print(
        f"   {AGENCY_A} receives {AGENCY_B}'s sighting (a count, no declaration detail): {counts or 'none'}"
    )
