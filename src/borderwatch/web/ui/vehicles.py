"""Vehicle pages: the alert queue, a vehicle's file (reads, map of crossings, alerts, declarations, owner) and
hotlist management. Routers call ``vehicles.service``; every page is audited through its guard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from borderwatch.access.policy import Action, Resource
from borderwatch.core.errors import ConfigError, NotFoundError
from borderwatch.vehicles import PlateError, service
from borderwatch.web.deps import Guard, UiIdentity, require
from borderwatch.web.errors import ApiError
from borderwatch.web.ui.common import check_csrf, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Guard, Depends(require(Action.READ, Resource.VEHICLE, page=True))]
Editor = Annotated[Guard, Depends(require(Action.CREATE, Resource.VEHICLE, page=True))]
Updater = Annotated[Guard, Depends(require(Action.UPDATE, Resource.VEHICLE, page=True))]


@router.get("/vehicles", response_class=HTMLResponse)
def alert_queue_page(request: Request, identity: UiIdentity, guard: Reader, status: str = "open") -> Response:
    chosen = status if status in ("open", "confirmed", "dismissed") else "open"
    alerts = service.list_alerts(session=guard.db, agency=guard.agency, status=chosen, limit=300)
    counts = service.alert_counts(session=guard.db, agency=guard.agency)
    guard.log(detail={"alerts": len(alerts), "status": chosen})
    return render(request, "vehicles.html", identity, alerts=alerts, counts=counts, status=chosen)


@router.get("/vehicles/hotlists", response_class=HTMLResponse)
def hotlists_page(request: Request, identity: UiIdentity, guard: Reader) -> Response:
    entries = service.hotlist_entries(session=guard.db, agency=guard.agency, limit=200)
    counts = service.hotlist_counts(session=guard.db, agency=guard.agency)
    guard.log(detail={"hotlist_entries": len(entries)})
    return render(
        request, "vehicles_hotlists.html", identity, entries=entries, counts=counts, lists=service.HOTLISTS
    )


class HotlistEntryForm(BaseModel):
    list_name: str = Field(max_length=32)
    plate: str = Field(max_length=32)
    reason: str = Field(default="listed", max_length=255)
    country: str = Field(default="", max_length=2)
    reference: str = Field(default="", max_length=255)


@router.post("/vehicles/hotlists")
async def hotlist_add_form(
    request: Request, identity: UiIdentity, guard: Editor, form: Annotated[HotlistEntryForm, Form()]
) -> Response:
    await check_csrf(request, identity)
    try:
        row = service.add_to_hotlist(
            session=guard.db,
            agency=guard.agency,
            list_name=form.list_name,
            plate=form.plate,
            country=form.country or None,
            reason=form.reason or "listed",
            reference=form.reference or None,
        )
    except PlateError as error:
        raise ApiError(422, f"plate {form.plate!r} {error}", field="plate") from None
    except ConfigError as error:
        raise ApiError(422, str(error), field="list_name") from None
    guard.log(resource_id=row.plate, detail={"list": form.list_name, "reason": form.reason})
    guard.db.commit()
    return RedirectResponse("/vehicles/hotlists", status_code=303)


@router.post("/vehicles/hotlists/{entry_id}/remove")
async def hotlist_remove_form(
    request: Request, entry_id: int, identity: UiIdentity, guard: Updater
) -> Response:
    await check_csrf(request, identity)
    try:
        service.remove_from_hotlist(session=guard.db, agency=guard.agency, entry_id=entry_id)
    except NotFoundError:
        raise guard.not_found("hotlist entry") from None
    guard.log(resource_id=str(entry_id), detail={"removed": True})
    guard.db.commit()
    return RedirectResponse("/vehicles/hotlists", status_code=303)


@router.post("/vehicles/alerts/{alert_id}")
async def alert_status_form(
    request: Request,
    alert_id: int,
    identity: UiIdentity,
    guard: Updater,
    status: Annotated[str, Form(max_length=16)],
) -> Response:
    await check_csrf(request, identity)
    try:
        row = service.set_alert_status(
            session=guard.db, agency=guard.agency, alert_id=alert_id, status=status
        )
    except NotFoundError:
        raise guard.not_found("alert") from None
    except ConfigError as error:
        raise ApiError(422, str(error), field="status") from None
    guard.log(resource_id=str(alert_id), detail={"status": status, "plate": row.plate})
    guard.db.commit()
    return RedirectResponse(f"/vehicles/plates/{row.plate}", status_code=303)


@router.get("/vehicles/plates/{plate}", response_class=HTMLResponse)
def vehicle_page(plate: str, request: Request, identity: UiIdentity, guard: Reader) -> Response:
    try:
        view = service.vehicle_view(session=guard.db, agency=guard.agency, plate=plate)
    except (NotFoundError, PlateError):
        raise guard.not_found("vehicle") from None
    guard.record(record_agency=view.agency, resource_id=f"vehicle {view.plate}", noun="vehicle")
    return render(request, "vehicles_vehicle.html", identity, view=view)
