"""File upload of declarations, ingested as a background job whose progress the job endpoint reports."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, UploadFile
from pydantic import BaseModel, ConfigDict

from borderwatch.access.models import JobRow
from borderwatch.access.policy import Action, Principal, Resource
from borderwatch.core.settings import Settings
from borderwatch.web import jobs
from borderwatch.web.deps import Guard, Paging, State, require
from borderwatch.web.errors import ERROR_RESPONSES, ApiError
from borderwatch.web.schemas import Paginated

router = APIRouter(tags=["uploads"], responses=ERROR_RESPONSES)

UploadFormat = Literal["auto", "kcs", "jsonl"]
MAX_UPLOAD_BYTES = 2 << 30
_SUFFIXES = {".csv", ".jsonl", ".ndjson"}


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    total: int | None
    done: int
    progress: float
    message: str | None
    result: dict[str, Any] | None

    @classmethod
    def of(cls, row: JobRow) -> JobOut:
        progress = 1.0 if row.status == "done" else (row.done / row.total if row.total else 0.0)
        return cls(
            id=row.id,
            kind=row.kind,
            status=row.status,
            total=row.total,
            done=row.done,
            progress=round(min(progress, 1.0), 4),
            message=row.message,
            result=row.result,
        )


def upload_dir(settings: Settings) -> Path:
    path = settings.data_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_upload(
    *, state: State, principal: Principal, upload: UploadFile, fmt: str, background: BackgroundTasks, db: Any
) -> JobRow:
    """Save the upload under a name of our own and queue its ingest; shared by the API and the upload page."""
    from borderwatch.ingest.service import ingest_file

    name = Path(upload.filename or "upload.csv").name
    suffix = Path(name).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ApiError(415, f"{name!r}: upload a .csv (KCS layout) or .jsonl file", field="file")
    job = jobs.create_job(
        db_session=db, kind="ingest", agency=principal.agency, created_by=principal.username, total=None
    )
    target = upload_dir(state.settings) / f"{job.id}{suffix}"
    with target.open("wb") as handle:
        shutil.copyfileobj(upload.file, handle, length=1 << 20)
    size = target.stat().st_size
    if size == 0:
        target.unlink()
        raise ApiError(422, f"{name!r} is empty", field="file")
    if size > MAX_UPLOAD_BYTES:
        target.unlink()
        raise ApiError(413, f"{name!r} is larger than {MAX_UPLOAD_BYTES >> 30} GiB", field="file")
    job.total = size
    job.message = name
    db.commit()  # the job must exist before the background task looks for it
    engine, agency, batch = state.engine, principal.agency, state.settings.ingest_batch_size

    def work(progress: Any) -> dict[str, Any]:
        summary = ingest_file(
            engine=engine, path=target, fmt=fmt, agency=agency, batch_size=batch, on_progress=progress
        )
        return {
            "file": name,
            "read": summary.read,
            "stored": summary.stored,
            "amended": summary.amended,
            "duplicates": summary.duplicates,
            "quarantined": summary.quarantined + summary.already_quarantined,
            "outcomes": summary.outcomes,
            "reasons": dict(summary.reasons.most_common(5)),
        }

    background.add_task(jobs.run_job, factory=state.factory, job_id=job.id, work=work)
    return job


@router.post("/uploads", status_code=202, summary="Upload a file of declarations; ingested in the background")
def upload(
    *,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.JOB))],
    state: State,
    background: BackgroundTasks,
    file: Annotated[UploadFile, File(description="KCS-layout CSV or canonical JSON Lines")],
    format: Annotated[UploadFormat, Form()] = "auto",
) -> JobOut:
    job = start_upload(
        state=state, principal=guard.principal, upload=file, fmt=format, background=background, db=guard.db
    )
    guard.log(resource_id=job.id, detail={"file": job.message, "bytes": job.total})
    guard.db.commit()
    return JobOut.of(job)


@router.get("/jobs", summary="Background jobs of my agency, newest first")
def list_jobs(
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.JOB))], paging: Paging
) -> Paginated[JobOut]:
    rows, total = jobs.list_jobs(
        db_session=guard.db, agency=guard.agency, limit=paging.limit, offset=paging.offset
    )
    guard.log()
    return Paginated[JobOut](
        items=[JobOut.of(r) for r in rows], total=total, limit=paging.limit, offset=paging.offset
    )


@router.get("/jobs/{job_id}", summary="A background job's status and progress")
def get_job(job_id: str, guard: Annotated[Guard, Depends(require(Action.READ, Resource.JOB))]) -> JobOut:
    row = jobs.get_job(db_session=guard.db, job_id=job_id)
    if row is None:
        raise ApiError(404, f"no job {job_id!r}")
    guard.record(record_agency=row.agency, resource_id=job_id)
    return JobOut.of(row)
