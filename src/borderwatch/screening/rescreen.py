"""Re-screening on every list update: known parties against what a new list version changed, only.

When a load adds or changes entries, the parties of the agency's declarations of the last ``days`` days
are screened against a matcher over those entries alone (``Matcher`` of the delta): the names of known
parties that were screened before against the unchanged entries need no second look. Each new hit becomes
one ``ScreeningAlertRow`` per (agency, screened name, entity), one audit entry, and an open hit in the
screening review queue (``ScreeningHitRow``) for each declaration of the party; a later reload that
finds the same hit raises no second alert, and a hit an analyst ruled out (``not_match``) stays
suppressed. Scores and explanations are the ones a full screening gives: the delta matcher compares the
same names with the same scorer; only the candidate index is smaller.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from borderwatch.access import audit
from borderwatch.access.policy import Action, Resource
from borderwatch.screening.matcher import DEFAULT_THRESHOLD, Matcher
from borderwatch.screening.models import ScreeningAlertRow, ScreeningHitRow
from borderwatch.screening.service import (
    LoadReport,
    active_entries,
    parties_frame,
    query_key,
    screen_parties,
    suppressed_pairs,
)

DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class RescreenReport:
    """What one re-screening did: how much it screened, and the alerts it raised."""

    entries: int  # added and changed entries screened against
    parties: int  # distinct (role, name) pairs screened
    alerts: tuple[ScreeningAlertRow, ...]
    seconds: float


def recent_parties(engine: Engine, *, agency: str, days: int, today: date | None = None) -> pl.DataFrame:
    """(lrn, role, party_id, party_name, country) of ``agency``'s current declarations of the last ``days``
    days (``today`` included)."""
    from borderwatch.ingest.models import DeclarationRow

    since = (today or date.today()) - timedelta(days=days)
    query = select(DeclarationRow.lrn, DeclarationRow.parties).where(
        DeclarationRow.is_current.is_(True),
        DeclarationRow.agency == agency,
        DeclarationRow.declared_on >= since,
    )
    return parties_frame(engine, query)


def _queued_hit(agency: str, hit: dict[str, Any]) -> ScreeningHitRow:
    return ScreeningHitRow(
        agency=agency,
        lrn=hit["lrn"],
        role=hit["role"],
        party_id=hit["party_id"],
        party_name=hit["party_name"],
        entity_id=hit["entity_id"],
        list_name=hit["list"],
        matched_name=hit["name"],
        score=float(hit["score"]),
        explanation=f"list update: {hit['explanation']}",
        status="open",
    )


def rescreen_changes(
    *,
    engine: Engine,
    session: Session,
    reports: Sequence[LoadReport],
    agency: str,
    actor: str,
    days: int = DEFAULT_DAYS,
    threshold: float = DEFAULT_THRESHOLD,
) -> RescreenReport:
    """Screen the known parties (``recent_parties``) against the entries ``reports``
    added or changed, store the new hits as alerts and audit each. The caller's session decides the
    transaction (the one that stored the new versions, so that an alert never outlives its version)."""
    start = time.perf_counter()
    changed = sorted({e for r in reports for e in (*r.added, *r.changed)})
    if not changed:
        return RescreenReport(entries=0, parties=0, alerts=(), seconds=time.perf_counter() - start)
    entries = active_entries(session=session, entity_ids=changed)
    parties = recent_parties(engine, agency=agency, days=days)
    hits = screen_parties(
        parties=parties,
        matcher=Matcher(entries),
        suppressed=suppressed_pairs(session=session, agency=agency),
        threshold=threshold,
    )
    known = {
        (key, entity_id)
        for key, entity_id in session.execute(
            select(ScreeningAlertRow.query_key, ScreeningAlertRow.entity_id).where(
                ScreeningAlertRow.agency == agency, ScreeningAlertRow.entity_id.in_(changed)
            )
        )
    }
    versions = {r.list_name: r.version_id for r in reports}
    queued = {
        tuple(row)
        for row in session.execute(
            select(ScreeningHitRow.lrn, ScreeningHitRow.role, ScreeningHitRow.entity_id).where(
                ScreeningHitRow.agency == agency, ScreeningHitRow.entity_id.in_(changed)
            )
        )
    }
    alerts: list[ScreeningAlertRow] = []
    new_pairs: set[tuple[str, str]] = set()
    for hit in hits.sort("score", descending=True).iter_rows(named=True):
        pair = (query_key(hit["party_name"]), hit["entity_id"])
        if pair in new_pairs and (hit["lrn"], hit["role"], hit["entity_id"]) not in queued:
            session.add(_queued_hit(agency, hit))  # the same party in another declaration
            queued.add((hit["lrn"], hit["role"], hit["entity_id"]))
        if pair in known:
            continue
        known.add(pair)
        new_pairs.add(pair)
        if (hit["lrn"], hit["role"], hit["entity_id"]) not in queued:
            # Into the screening review queue of the workspace, open, beside the hits of arriving
            # declarations.
            session.add(_queued_hit(agency, hit))
            queued.add((hit["lrn"], hit["role"], hit["entity_id"]))
        alert = ScreeningAlertRow(
            agency=agency,
            query_key=pair[0],
            party_name=hit["party_name"],
            role=hit["role"],
            party_id=hit["party_id"],
            lrn=hit["lrn"],
            entity_id=hit["entity_id"],
            list_name=hit["list"],
            version_id=versions.get(hit["list"], 0),
            score=float(hit["score"]),
            explanation=hit["explanation"],
        )
        session.add(alert)
        alerts.append(alert)
    session.flush()
    for alert in alerts:
        audit.record(
            db_session=session,
            actor=actor,
            agency=agency,
            action=Action.CREATE,
            resource=Resource.SCREENING,
            resource_id=f"alert:{alert.id}",
            detail={
                "entity_id": alert.entity_id,
                "party_name": alert.party_name,
                "lrn": alert.lrn,
                "score": alert.score,
                "list_version": alert.version_id,
            },
        )
    distinct = parties.select("role", "party_name").unique().height
    return RescreenReport(
        entries=len(entries), parties=distinct, alerts=tuple(alerts), seconds=time.perf_counter() - start
    )


def list_alerts(*, session: Session, agency: str, limit: int = 100) -> list[ScreeningAlertRow]:
    """``agency``'s alerts, newest first."""
    return list(
        session.scalars(
            select(ScreeningAlertRow)
            .where(ScreeningAlertRow.agency == agency)
            .order_by(ScreeningAlertRow.id.desc())
            .limit(limit)
        )
    )
