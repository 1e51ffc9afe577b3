"""The append-only audit log: who read or changed what, and whether it was allowed.

This module only ever inserts; the database itself refuses UPDATE and DELETE on the table (triggers).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from borderwatch.access.models import AuditRow
from borderwatch.access.policy import Action, Principal, Resource


def record(
    *,
    db_session: Session,
    actor: str,
    agency: str | None,
    action: Action | str,
    resource: Resource | str,
    resource_id: str | None = None,
    allowed: bool = True,
    detail: dict[str, Any] | None = None,
) -> None:
    db_session.add(
        AuditRow(
            actor=actor,
            agency=agency,
            action=str(action),
            resource=str(resource),
            resource_id=resource_id,
            allowed=allowed,
            detail=detail,
        )
    )


def record_for(
    *,
    db_session: Session,
    principal: Principal,
    action: Action,
    resource: Resource,
    resource_id: str | None = None,
    allowed: bool = True,
    detail: dict[str, Any] | None = None,
) -> None:
    record(
        db_session=db_session,
        actor=principal.username,
        agency=principal.agency,
        action=action,
        resource=resource,
        resource_id=resource_id,
        allowed=allowed,
        detail=detail,
    )


def search(
    *,
    db_session: Session,
    agency: str | None = None,
    actor: str | None = None,
    resource: str | None = None,
    resource_id: str | None = None,
    denied_only: bool = False,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[AuditRow], int]:
    """Entries matching every filter given, newest first, and how many match in all."""
    query = select(AuditRow)
    if agency is not None:
        query = query.where(AuditRow.agency == agency)
    if actor is not None:
        query = query.where(AuditRow.actor == actor)
    if resource is not None:
        query = query.where(AuditRow.resource == resource)
    if resource_id is not None:
        query = query.where(AuditRow.resource_id == resource_id)
    if denied_only:
        query = query.where(AuditRow.allowed.is_(False))
    if since is not None:
        query = query.where(AuditRow.at >= since)
    total = db_session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db_session.scalars(query.order_by(AuditRow.id.desc()).limit(limit).offset(offset)).all()
    return rows, total
