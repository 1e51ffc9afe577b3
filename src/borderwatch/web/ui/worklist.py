"""The worklist as a work tool: search, filters, sortable columns, paging, CSV export, bulk assignment and
"my cases". The query lives in ``web.services.records`` (one for the API and the page); assignment goes
through ``web.services.cases.assign_to`` (the same checks and audit as the API)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from borderwatch.access.policy import Action, Resource, decide
from borderwatch.web.deps import Guard, UiIdentity, require
from borderwatch.web.errors import ApiError
from borderwatch.web.services import records
from borderwatch.web.services.cases import assign_to, assignable_officers
from borderwatch.web.ui.common import check_csrf, render

router = APIRouter(include_in_schema=False)

PAGE = 50
EXPORT_CAP = 100_000
CSV_COLUMNS = (
    "lrn",
    "declared_on",
    "office",
    "lane",
    "score",
    "fraud_probability",
    "basis",
    "control",
    "importer_id",
    "importer_name",
    "case_id",
    "case_status",
    "officer",
    "top_reasons",
)


def _query_string(filters: records.WorklistFilter, **changes: object) -> str:
    values = {**filters.model_dump(mode="json", exclude_defaults=True), **changes}
    return urlencode({k: v for k, v in values.items() if v not in (None, "", False)})


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(
    *,
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.WORKLIST, page=True))],
    filters: Annotated[records.WorklistFilter, Query()],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    assigned: Annotated[int | None, Query(ge=0, le=10_000)] = None,
) -> Response:
    items, total = records.worklist(
        db_session=guard.db,
        agency=guard.agency,
        filters=filters,
        me=guard.principal.username,
        limit=PAGE,
        offset=(page - 1) * PAGE,
    )
    guard.log(detail={**filters.model_dump(mode="json", exclude_defaults=True), "page": page})
    may_assign = decide(guard.principal, Action.UPDATE, Resource.CASE).allowed
    template = "_worklist_rows.html" if request.headers.get("HX-Request") else "worklist.html"
    return render(
        request,
        template,
        identity,
        items=items,
        total=total,
        page=page,
        first=(page - 1) * PAGE,
        pages=max(1, -(-total // PAGE)),
        f=filters,
        query=lambda **changes: _query_string(filters, **changes),
        officers=assignable_officers(db_session=guard.db, agency=guard.agency) if may_assign else [],
        may_assign=may_assign,
        assigned=assigned,
    )


@router.get("/worklist.csv")
def worklist_csv(
    *,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.WORKLIST, page=True))],
    filters: Annotated[records.WorklistFilter, Query()],
) -> Response:
    """The whole filtered worklist (up to 100,000 rows) as CSV, in the page's order."""
    guard.log(detail={**filters.model_dump(mode="json", exclude_defaults=True), "export": "csv"})
    guard.db.commit()  # the audit entry is written before the rows leave
    rows = records.worklist_rows(
        db_session=guard.db, agency=guard.agency, filters=filters, me=guard.principal.username, cap=EXPORT_CAP
    )

    def lines() -> Iterator[str]:
        # The rows are read while the response streams, after the request's session may have been closed
        # by its dependency: reading reopens a transaction on it that nothing else would end (it held its
        # locks until the process exited). Close it here, also when the client goes away mid-export.
        try:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(CSV_COLUMNS)
            for item in rows:
                row = item.model_dump(mode="json")
                row["top_reasons"] = " | ".join(item.top_reasons)
                writer.writerow([row[c] if row[c] is not None else "" for c in CSV_COLUMNS])
                if buffer.tell() > 64_000:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()
        finally:
            guard.db.close()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="worklist.csv"'},
    )


@router.post("/worklist/assign")
async def bulk_assign(
    *,
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.CASE, page=True))],
) -> Response:
    """Assign the ticked cases to one officer; all or nothing (one refusal assigns none)."""
    await check_csrf(request, identity)
    form = await request.form()
    officer = form.get("officer")
    back = form.get("back")
    if not isinstance(officer, str) or not officer:
        raise ApiError(422, "choose the officer to assign the cases to", field="officer")
    ids: list[int] = []
    for value in form.getlist("case_id"):
        if not isinstance(value, str) or not value.isdigit() or len(value) > 10:
            raise ApiError(422, f"case_id: {value!r} is not a case number", field="case_id")
        ids.append(int(value))
    if not ids:
        raise ApiError(422, "tick at least one case to assign", field="case_id")
    if len(ids) > 500:
        raise ApiError(422, "assign at most 500 cases at once", field="case_id")
    for case_id in ids:
        assign_to(guard=guard, case_id=case_id, officer=officer)
    guard.db.commit()
    target = (
        back if isinstance(back, str) and back.startswith("/worklist") and "//" not in back else "/worklist"
    )
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{joiner}assigned={len(ids)}", status_code=303)
