"""Background jobs (file uploads) with progress kept in the ``jobs`` table so any worker can report it.

A job runs in the server process that queued it (FastAPI's background tasks). While it runs it touches its
row at least every ``HEARTBEAT_SECONDS``; a job left queued or running whose row has not been touched for
``STALE_AFTER`` belongs to a server that stopped (a crash, ``kill -9``, a restart) and is marked failed: at
every start of the server, and whenever jobs are read.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.access.models import JobRow
from borderwatch.core.errors import BorderwatchError

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
STALE_AFTER = timedelta(seconds=60)
INTERRUPTED = "the server stopped before this job finished; nothing after its last progress was stored, "
INTERRUPTED += "so send the file again (declarations already stored count as duplicates)"
UNEXPECTED = "the job stopped on an unexpected error; the server log has the details (job {job_id})"
ACTIVE = ("queued", "running")


def upload_dir(data_dir: Path) -> Path:
    """Where uploaded files wait for their job (named after it); each is deleted when its job ends."""
    path = data_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


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


def fail_interrupted_jobs(
    *, factory: sessionmaker[Session], data_dir: Path, stale_after: timedelta = STALE_AFTER
) -> list[str]:
    """Mark failed the queued or running jobs whose server stopped (not touched for ``stale_after``) and
    delete their uploaded files; returns their ids."""
    cutoff = datetime.now(UTC) - stale_after
    with factory() as session:
        ids = list(
            session.scalars(select(JobRow.id).where(JobRow.status.in_(ACTIVE), JobRow.updated_at < cutoff))
        )
        if not ids:
            return []
        # Decided again on the row as it is written: a heartbeat that arrives meanwhile keeps the job alive.
        session.execute(
            update(JobRow)
            .where(JobRow.id.in_(ids), JobRow.status.in_(ACTIVE), JobRow.updated_at < cutoff)
            .values(status="failed", message=INTERRUPTED, updated_at=datetime.now(UTC))
        )
        failed = list(session.scalars(select(JobRow.id).where(JobRow.id.in_(ids), JobRow.status == "failed")))
        session.commit()
    for job_id in failed:
        log.warning("job %s was interrupted (its server stopped); marked failed", job_id)
        for leftover in upload_dir(data_dir).glob(f"{job_id}.*"):
            leftover.unlink(missing_ok=True)
    return failed


def _set(factory: sessionmaker[Session], job_id: str, **values: Any) -> None:
    with factory() as session:
        session.execute(
            update(JobRow).where(JobRow.id == job_id).values(updated_at=datetime.now(UTC), **values)
        )
        session.commit()


def failure_message(error: Exception, *, job_id: str) -> str:
    """What the job's owner reads: a typed error's own sentence (written for people); for anything else
    (a database error, a bug), no text of it: that stays in the server log."""
    if isinstance(error, BorderwatchError):
        return str(error) or type(error).__name__
    return UNEXPECTED.format(job_id=job_id)


def run_job(
    *, factory: sessionmaker[Session], job_id: str, work: Callable[[Callable[[int], None]], dict[str, Any]]
) -> None:
    """Run ``work(progress)`` and keep the job row up to date; ``progress(n)`` reports units done so far."""
    _set(factory, job_id, status="running")
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                _set(factory, job_id)
            except Exception:  # a missed beat is retried at the next; the job itself goes on
                log.warning("job %s: could not record its heartbeat", job_id, exc_info=True)

    beating = threading.Thread(target=heartbeat, name=f"job-{job_id}-heartbeat", daemon=True)
    beating.start()

    def progress(done: int) -> None:
        _set(factory, job_id, done=done)

    try:
        result = work(progress)
    except Exception as error:  # a job must end failed with its reason, whatever went wrong
        log.exception("job %s failed", job_id)
        _set(factory, job_id, status="failed", message=failure_message(error, job_id=job_id))
        return
    finally:
        stop.set()
        beating.join()
    _set(
        factory,
        job_id,
        status="done",
        result=result,
        message=None,
        done=func.coalesce(JobRow.total, JobRow.done),
    )
