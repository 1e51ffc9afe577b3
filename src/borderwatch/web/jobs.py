"""Background jobs (file uploads) with progress kept in the ``jobs`` table so any worker can report it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.access.models import JobRow

log = logging.getLogger(__name__)


def create_job(*, db_session: Session, kind: str, agency: str, created_by: str, total: int | None) -> JobRow:
    job = JobRow(
        id=uuid.uuid4().hex,
        kind=kind,
        agency=agency,
        created_by=created_by,
        status="queued",
        total=total,
        done=0,
    )
    db_session.add(job)
    db_session.flush()
    return job


def get_job(*, db_session: Session, job_id: str) -> JobRow | None:
    return db_session.get(JobRow, job_id)


def list_jobs(*, db_session: Session, agency: str, limit: int, offset: int) -> tuple[list[JobRow], int]:
    query = select(JobRow).where(JobRow.agency == agency)
    rows = list(db_session.scalars(query.order_by(JobRow.created_at.desc()).limit(limit).offset(offset)))
    total = db_session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return rows, total


def _set(factory: sessionmaker[Session], job_id: str, **values: Any) -> None:
    with factory() as session:
        session.execute(
            update(JobRow).where(JobRow.id == job_id).values(updated_at=datetime.now(UTC), **values)
        )
        session.commit()


def run_job(
    *, factory: sessionmaker[Session], job_id: str, work: Callable[[Callable[[int], None]], dict[str, Any]]
) -> None:
    """Run ``work(progress)`` and keep the job row up to date; ``progress(n)`` reports units done so far."""
    _set(factory, job_id, status="running")

    def progress(done: int) -> None:
        _set(factory, job_id, done=done)

    try:
        result = work(progress)
    except Exception as error:  # a job must end failed with its reason, whatever went wrong
        log.exception("job %s failed", job_id)
        _set(factory, job_id, status="failed", message=str(error) or type(error).__name__)
        return
    _set(
        factory,
        job_id,
        status="done",
        result=result,
        message=None,
        done=func.coalesce(JobRow.total, JobRow.done),
    )
