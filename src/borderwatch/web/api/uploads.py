"""File upload of declarations, ingested as a background job whose progress the job endpoint reports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, UploadFile

from borderwatch.access.policy import Action, Resource
from borderwatch.web import jobs
from borderwatch.web.deps import Guard, Paging, State, require
from borderwatch.web.errors import ERROR_RESPONSES, ErrorBody
from borderwatch.web.schemas import Paginated
from borderwatch.web.services.uploads import JobOut, start_upload

router = APIRouter(tags=["uploads"], responses=ERROR_RESPONSES)
UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    415: {"model": ErrorBody, "description": "not a .csv, .jsonl or .ndjson file"}
}

UploadFormat = Literal["auto", "kcs", "jsonl"]


@router.post(
    "/uploads",
    status_code=202,
    summary="Upload a file of declarations; ingested in the background",
    responses=UPLOAD_RESPONSES,
)
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
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.JOB))], state: State, paging: Paging
) -> Paginated[JobOut]:
    jobs.fail_interrupted_jobs(factory=state.factory, data_dir=state.settings.data_dir)
    rows, total = jobs.list_jobs(
        db_session=guard.db, agency=guard.agency, limit=paging.limit, offset=paging.offset
    )
    guard.log()
    return Paginated[JobOut](
        items=[JobOut.of(r) for r in rows], total=total, limit=paging.limit, offset=paging.offset
    )


@router.get("/jobs/{job_id}", summary="A background job's status and progress")
def get_job(
    job_id: str, guard: Annotated[Guard, Depends(require(Action.READ, Resource.JOB))], state: State
) -> JobOut:
    jobs.fail_interrupted_jobs(factory=state.factory, data_dir=state.settings.data_dir)
    row = jobs.get_job(db_session=guard.db, job_id=job_id)
    if row is None:
        raise guard.not_found()
    guard.record(record_agency=row.agency, resource_id=job_id)
    return JobOut.of(row)
