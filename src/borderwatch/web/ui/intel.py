"""The intelligence page (what partners sent this agency: indicators, seizures and sightings, by partner,
with their TLP) and the "share" form of a closed case with a seizure. Reads come from ``intel.exchange``;
a share goes through ``intel.sharing.share``, the function ``borderwatch intel share`` calls: the same
policy decision (``access.policy.decide_share``), the same recorded decision and the same audit entry."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from borderwatch.access.policy import TLP, Action, Resource
from borderwatch.intel import exchange, sharing, store
from borderwatch.web.api.cases import CaseId
from borderwatch.web.deps import Guard, State, UiIdentity, ui_require
from borderwatch.web.errors import ApiError
from borderwatch.web.ui.common import check_csrf, render

router = APIRouter(include_in_schema=False)


@router.get("/intel", response_class=HTMLResponse)
def intel_page(
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(ui_require(Action.READ, Resource.INTEL))],
    partner: Annotated[str, Query(max_length=64)] = "",
    tlp: Annotated[TLP | Literal[""], Query()] = "",
    kind: Annotated[Literal["", "indicator", "incident", "sighting"], Query(alias="type")] = "",
) -> Response:
    partners = exchange.received_items(
        session=guard.db,
        agency=guard.agency,
        types=(kind,) if kind else exchange.RECEIVED_TYPES,
        partner=partner or None,
        tlp=tlp or None,
    )
    sightings = exchange.received_sightings(session=guard.db, agency=guard.agency)
    guard.log(
        resource_id="received",
        detail={
            "page": "intel",
            "filters": {"partner": partner, "tlp": str(tlp), "type": kind},
            "shown": sum(len(items) for items in partners.values()),
            "sightings": len(sightings),
        },
    )
    return render(
        request,
        "intel.html",
        identity,
        partners=partners,
        sightings=sightings,
        tlps=list(TLP),
        types={"indicator": "indicator", "incident": "seizure", "sighting": "sighting"},
        filters={"partner": partner, "tlp": str(tlp), "type": kind},
    )


@router.post("/cases/{case_id}/share")
async def share_case(  # noqa: PLR0913, PLR0917 - a form's fields
    case_id: CaseId,
    request: Request,
    identity: UiIdentity,
    state: State,
    guard: Annotated[Guard, Depends(ui_require(Action.CREATE, Resource.INTEL))],
    tlp: Annotated[str, Form(max_length=16)] = "",
    group: Annotated[str, Form(max_length=128)] = "",
    collection: Annotated[str, Form(max_length=128)] = "",
    recipients: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Share the seizure of a closed case: the person signed in decides; TLP and group chosen in the form."""
    await check_csrf(request, identity)
    try:
        level = TLP(tlp)
    except ValueError:
        raise ApiError(422, "choose the TLP the seizure leaves under", field="tlp") from None
    if not collection:
        raise ApiError(422, "choose the collection the objects go to", field="collection")
    share = sharing.ShareRequest(
        kind="seizure",
        record_id=str(case_id),
        collection_id=collection,
        tlp=level,
        group=group or None,
        recipients=tuple(r for r in recipients.replace(",", " ").split() if r),
    )
    try:
        decision = sharing.share(
            session=guard.db,
            engine=state.engine,
            data_dir=state.settings.data_dir,
            principal=guard.principal,
            request=share,
        )
    except store.ForbiddenError as error:
        guard.db.commit()  # the refusal's audit entry, written by ``share`` before anything else
        raise ApiError(403, f"forbidden: {error}") from None
    except store.IntelError as error:  # nothing kept: the request's transaction is rolled back
        raise ApiError(error.status, str(error)) from None
    guard.db.commit()
    return RedirectResponse(f"/cases/{case_id}?done=shared#share-{decision.id}", status_code=303)
