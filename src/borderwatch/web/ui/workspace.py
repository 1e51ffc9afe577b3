"""The analyst's and inspector's pages: worklist, declaration, case form, risk profiles, upload."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, BackgroundTasks, Depends, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile as StarletteUpload

from borderwatch.access.policy import Action, Resource, decide
from borderwatch.inspections.flows import follow_completed_reasons
from borderwatch.inspections.service import ACTIVE
from borderwatch.scoring.online import ModelExplanation, model_explanation
from borderwatch.web import jobs
from borderwatch.web.deps import AppState, Guard, State, UiIdentity, require
from borderwatch.web.errors import ApiError
from borderwatch.web.services import records
from borderwatch.web.services.cases import CaseId, OutcomeIn, record_case_outcome
from borderwatch.web.services.monitoring import monitoring
from borderwatch.web.services.profiles import agency_profiles, create_or_replace
from borderwatch.web.services.screening import Graph, declaration_hits, declaration_network
from borderwatch.web.services.uploads import JobOut, start_upload
from borderwatch.web.ui import charts
from borderwatch.web.ui.codes import QUANTITY_UNITS
from borderwatch.web.ui.common import check_csrf, render

router = APIRouter(include_in_schema=False)


@router.get("/declarations/{lrn}", response_class=HTMLResponse)
def declaration_page(
    lrn: str,
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION, page=True))],
    state: State,
    recorded: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    overridden: Annotated[Literal["red", "yellow", "green"] | None, Query()] = None,
) -> Response:
    row = records.declaration_for(guard, lrn)
    declaration = records.declaration_out(db_session=guard.db, row=row)
    # The score's reasons are completed, if they were left to the first read, from the features that
    # explain the score; the lane decided on that score then shows them too.
    complete = declaration.latest_score is not None
    explanation = _model_explanation(guard, state, declaration, complete=complete)
    if complete:
        follow_completed_reasons(session=guard.db, lrn=lrn, agency=guard.agency)
        declaration = records.declaration_out(db_session=guard.db, row=row)
    open_case = next((c for c in declaration.cases if c.status in ACTIVE), None)
    return render(
        request,
        "declaration.html",
        identity,
        d=declaration,
        open_case=open_case,
        explanation=charts.explanation_spec(declaration, explanation),
        chart_model=declaration.latest_score.model_version
        if explanation and declaration.latest_score
        else None,
        today=date.today().isoformat(),
        units=QUANTITY_UNITS,
        recorded=recorded,
        overridden=overridden,
        may_override=decide(guard.principal, Action.UPDATE, Resource.LANE).allowed,
    )


def _model_explanation(
    guard: Guard, state: AppState, declaration: records.DeclarationOut, *, complete: bool
) -> ModelExplanation | None:
    scored = declaration.latest_score
    if scored is None:
        return None
    return model_explanation(
        cache=state.cache,
        engine=state.engine,
        db=guard.db,
        agency=guard.agency,
        lrn=declaration.lrn,
        model_version=scored.model_version,
        complete_with=agency_profiles(state.settings, guard.agency, cache=state.cache) if complete else None,
    )


@router.post("/cases/{case_id}/outcome", response_class=HTMLResponse)
async def case_outcome_form(
    case_id: CaseId,
    request: Request,
    identity: UiIdentity,
    state: State,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.OUTCOME, page=True))],
) -> Response:
    await check_csrf(request, identity)
    form = await request.form()
    skip = ("csrf_token", "next", "evidence_files")
    fields: dict[str, Any] = {
        k: v for k, v in form.items() if k not in skip and isinstance(v, str) and v.strip() != ""
    }
    files = [f for f in form.getlist("evidence_files") if isinstance(f, StarletteUpload) and f.filename]
    fields["evidence"] = [
        await keep_evidence(data_dir=state.settings.data_dir, agency=guard.agency, upload=f) for f in files
    ]
    try:
        body = OutcomeIn.model_validate(fields)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ApiError(422, f"{where}: {first['msg']}", field=where) from None
    case = record_case_outcome(guard=guard, case_id=case_id, body=body, state=state)
    guard.db.commit()
    if not request.headers.get("HX-Request"):  # a plain form post (no JavaScript): back to the page
        if form.get("next") == "case":
            return RedirectResponse(f"/cases/{case.id}?done=recorded", status_code=303)
        return RedirectResponse(f"/declarations/{case.lrn}?recorded={case.id}#case", status_code=303)
    return render(request, "_case_result.html", identity, error=None, case=case)


async def keep_evidence(*, data_dir: Path, agency: str, upload: StarletteUpload) -> dict[str, str]:
    """Store an evidence file under ``<data_dir>/evidence/<agency>/<sha256>`` and return its name and
    fingerprint (what the finding records)."""
    folder = data_dir / "evidence" / agency
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    partial = folder / f".upload-{secrets.token_hex(8)}"
    with partial.open("wb") as out:
        while chunk := await upload.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    fingerprint = digest.hexdigest()
    partial.replace(folder / fingerprint)
    name = Path(upload.filename or "evidence").name[:255] or "evidence"
    return {"name": name, "sha256": fingerprint}


@router.get("/profiles", response_class=HTMLResponse)
def profiles_page(
    request: Request,
    identity: UiIdentity,
    state: State,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.PROFILE, page=True))],
    edit: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    profiles = agency_profiles(state.settings, guard.agency)
    guard.log(detail={"count": len(profiles)})
    chosen = next((p for p in profiles if p.id == edit), None)
    text = (
        yaml.safe_dump(chosen.model_dump(mode="json", exclude_none=True), sort_keys=False) if chosen else ""
    )
    return render(
        request, "profiles.html", identity, profiles=profiles, editing=chosen, text=text, error=None
    )


@router.post("/profiles", response_class=HTMLResponse)
async def profiles_save(
    request: Request,
    identity: UiIdentity,
    state: State,
    guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.PROFILE, page=True))],
    text: Annotated[str, Form(max_length=100_000)],
) -> Response:
    await check_csrf(request, identity)
    try:
        document: Any = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return _profiles_error(request, identity, state, guard, text, message=f"not valid YAML: {error}")
    except RecursionError:
        return _profiles_error(request, identity, state, guard, text, message="the YAML is nested too deep")
    if not isinstance(document, dict):
        return _profiles_error(
            request, identity, state, guard, text, message="write one profile as a YAML mapping"
        )
    try:
        profile = create_or_replace(guard=guard, settings=state.settings, body=document)
    except ApiError as error:
        return _profiles_error(request, identity, state, guard, text, message=error.message)
    return RedirectResponse(f"/profiles?edit={profile.id}&saved=1", status_code=303)


def _profiles_error(
    request: Request, identity: Any, state: State, guard: Guard, text: str, *, message: str
) -> Response:
    profiles = agency_profiles(state.settings, guard.agency)
    return render(
        request,
        "profiles.html",
        identity,
        profiles=profiles,
        editing=None,
        text=text,
        error=message,
        status_code=422,
    )


@router.get("/upload", response_class=HTMLResponse)
def upload_page(
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.JOB, page=True))],
    state: State,
    job: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    jobs.fail_interrupted_jobs(factory=state.factory, data_dir=state.settings.data_dir)
    recent, _total = jobs.list_jobs(db_session=guard.db, agency=guard.agency, limit=10, offset=0)
    shown = jobs.get_job(db_session=guard.db, job_id=job) if job else None
    if shown is not None and shown.agency != guard.agency:
        shown = None
    return render(
        request,
        "upload.html",
        identity,
        recent=[JobOut.of(j) for j in recent],
        job=JobOut.of(shown) if shown else None,
    )


@router.post("/upload", response_class=HTMLResponse)
async def upload_submit(
    *,
    request: Request,
    identity: UiIdentity,
    state: State,
    background: BackgroundTasks,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.JOB, page=True))],
    file: UploadFile,
    format: Annotated[Literal["auto", "kcs", "jsonl"], Form()] = "auto",
) -> Response:
    await check_csrf(request, identity)
    job = start_upload(
        state=state, principal=guard.principal, upload=file, fmt=format, background=background, db=guard.db
    )
    guard.log(resource_id=job.id, detail={"file": job.message, "bytes": job.total})
    guard.db.commit()
    if not request.headers.get("HX-Request"):  # a plain form post (no JavaScript): the page shows the job
        return RedirectResponse(f"/upload?job={job.id}", status_code=303)
    return render(request, "_job.html", identity, job=JobOut.of(job))


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_fragment(
    job_id: str,
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.JOB, page=True))],
    state: State,
) -> Response:
    jobs.fail_interrupted_jobs(factory=state.factory, data_dir=state.settings.data_dir)
    row = jobs.get_job(db_session=guard.db, job_id=job_id)
    if row is None:
        raise guard.not_found()
    guard.record(record_agency=row.agency, resource_id=job_id)
    return render(request, "_job.html", identity, job=JobOut.of(row))


@router.get("/declarations/{lrn}/screening", response_class=HTMLResponse)
def screening_fragment(
    lrn: str,
    request: Request,
    identity: UiIdentity,
    state: State,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.SCREENING, page=True))],
) -> Response:
    hits = declaration_hits(guard=guard, state=state, lrn=lrn)
    return render(request, "_screening.html", identity, hits=hits)


@router.get("/declarations/{lrn}/network.json")
def network_json(
    lrn: str,
    identity: UiIdentity,
    state: State,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION, page=True))],
) -> Graph:
    del identity
    return declaration_network(guard=guard, state=state, lrn=lrn)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    identity: UiIdentity,
    state: State,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.MONITORING, page=True))],
) -> Response:
    guard.log()
    data = monitoring(db=guard.db, state=state, agency=guard.agency)
    return render(request, "dashboard.html", identity, m=data, specs=charts.dashboard_specs(data))
