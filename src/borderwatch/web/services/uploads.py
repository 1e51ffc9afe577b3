"""Uploads for the API and the upload page alike: save the file under a name of our own and queue its
ingest and selection as a background job; a job's response shape."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from fastapi import BackgroundTasks, UploadFile
from pydantic import BaseModel, ConfigDict

from borderwatch.access.models import JobRow
from borderwatch.access.policy import Principal
from borderwatch.core.errors import BorderwatchError
from borderwatch.inspections.flows import select_arrivals_in_slices
from borderwatch.pipeline.selection import agency_selection
from borderwatch.web import jobs
from borderwatch.web.deps import AppState
from borderwatch.web.errors import ApiError

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


def start_upload(
    *,
    state: AppState,
    principal: Principal,
    upload: UploadFile,
    fmt: str,
    background: BackgroundTasks,
    db: Any,
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
    target = jobs.upload_dir(state.settings.data_dir) / f"{job.id}{suffix}"
    with target.open("wb") as handle:
        shutil.copyfileobj(upload.file, handle, length=1 << 20)
    size = target.stat().st_size
    if size == 0:
        target.unlink()
        raise ApiError(422, f"{name!r} is empty", field="file")
    if size > state.settings.http_max_upload_bytes:  # the body's cap (web.limits) held the file and the form
        target.unlink()
        cap = state.settings.http_max_upload_bytes
        raise ApiError(413, f"{name!r} is larger than {cap} bytes, the limit of uploads", field="file")
    job.total = size
    job.message = name
    db.commit()  # the job must exist before the background task looks for it
    engine, agency, batch = state.engine, principal.agency, state.settings.ingest_batch_size
    selection = agency_selection(
        settings=state.settings, engine=state.engine, agency=agency, cache=state.cache
    )
    factory, actor = state.factory, principal.username

    def work(progress: Callable[[int], None]) -> dict[str, Any]:
        read = 0

        def advance(batch_bytes: int) -> None:  # ingest_file reports each batch's bytes
            nonlocal read
            read += batch_bytes
            progress(read)

        try:
            summary = ingest_file(
                engine=engine, path=target, fmt=fmt, agency=agency, batch_size=batch, on_progress=advance
            )
        except BorderwatchError as error:
            # the sentence is for the person who uploaded: their file's name, not where the server keeps it
            raise BorderwatchError(str(error).replace(str(target), name)) from error
        finally:
            # What could not be stored is in the quarantine by now; the file itself is not kept.
            target.unlink(missing_ok=True)
        # every stored or amended declaration is selected at once: lanes and cases, no command to run
        selected = select_arrivals_in_slices(
            engine=engine, factory=factory, lrns=summary.lrns, agency=agency, selection=selection, actor=actor
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
            "selection": selected.describe(),
        }

    background.add_task(jobs.run_job, factory=state.factory, job_id=job.id, work=work)
    return job
