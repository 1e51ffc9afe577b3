"""Storing and reading resolved entities."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import polars as pl
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from borderwatch.entities.models import ResolvedEntityRow, ResolvedMemberRow
from borderwatch.entities.resolve import Resolution


def save_resolution(*, session: Session, resolution: Resolution, run_id: str) -> int:
    """Store the multi-member entities of ``resolution`` under ``run_id``; returns how many were stored."""
    multi = resolution.clusters.filter(pl.col("cluster_size") > 1)
    evidence: dict[str, list[str]] = defaultdict(list)
    for left, right, probability, why in resolution.pairs.iter_rows():
        evidence[left].append(f"{right} p={probability:.3f} ({why})")
        evidence[right].append(f"{left} p={probability:.3f} ({why})")
    stored = 0
    for (key,), group in multi.group_by("entity_key", maintain_order=True):
        first = group.row(0, named=True)
        entity = ResolvedEntityRow(
            run_id=run_id,
            entity_key=str(key),
            role=first["role"],
            canonical_name=first["name"],
            confidence=float(first["confidence"]),
            member_count=group.height,
        )
        session.add(entity)
        session.flush()
        members: list[dict[str, Any]] = [
            {
                "resolved_id": entity.id,
                "party_id": row["party_id"],
                "name": row["name"],
                "evidence": "; ".join(evidence.get(row["party_id"], [])[:5]) or None,
            }
            for row in group.iter_rows(named=True)
        ]
        session.execute(insert(ResolvedMemberRow), members)
        stored += 1
    return stored


def resolved_entity_of(*, session: Session, party_id: str) -> list[ResolvedEntityRow]:
    """The stored resolved entities that ``party_id`` belongs to, newest run first."""
    query = (
        select(ResolvedEntityRow)
        .join(ResolvedMemberRow, ResolvedMemberRow.resolved_id == ResolvedEntityRow.id)
        .where(ResolvedMemberRow.party_id == party_id)
        .order_by(ResolvedEntityRow.id.desc())
    )
    return list(session.scalars(query))
