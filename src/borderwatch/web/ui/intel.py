"""The intelligence page (what partners sent this agency: indicators, seizures and sightings, by partner,
with their TLP) and the "share" form of a closed case with a seizure. Reads come from ``intel.exchange``;
a share goes through ``intel.sharing.share``, the function ``borderwatch intel share`` calls: the same
policy decision (``access.policy.decide_share``), the same recorded decision and the same audit entry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from borderwatch.access.policy import TLP, Action, Resource
from borderwatch.core.errors import NotFoundError
from borderwatch.intel import exchange, sharing, stix, store
from borderwatch.web.deps import Guard, State, UiIdentity, require
from borderwatch.web.errors import ApiError
from borderwatch.web.services.cases import CaseId
from borderwatch.web.ui.common import check_csrf, render

router = APIRouter(include_in_schema=False)


@router.get("/intel", response_class=HTMLResponse)
def intel_page(
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.INTEL, page=True))],
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
    shares = sharing.list_shares(session=guard.db, agency=guard.agency)
    guard.log(
        resource_id="received",
        detail={
            "page": "intel",
            "filters": {"partner": partner, "tlp": str(tlp), "type": kind},
            "shown": sum(len(items) for items in partners.values()),
            "sightings": len(sightings),
            "shares": [s.id for s in shares],
        },
    )
    return render(
        request,
        "intel.html",
        identity,
        partners=partners,
        sightings=sightings,
        shares=shares,
        tlps=list(TLP),
        types={"indicator": "indicator", "incident": "seizure", "sighting": "sighting"},
        filters={"partner": partner, "tlp": str(tlp), "type": kind},
    )


PREVIEW_VALID = timedelta(minutes=30)


def _share_request(
    case_id: int, tlp: str, group: str, collection: str, recipients: str
) -> sharing.ShareRequest:
    try:
        level = TLP(tlp)
    except ValueError:
        raise ApiError(422, "choose the TLP the seizure leaves under", field="tlp") from None
    if not collection:
        raise ApiError(422, "choose the collection the objects go to", field="collection")
    return sharing.ShareRequest(
        kind="seizure",
        record_id=str(case_id),
        collection_id=collection,
        tlp=level,
        group=group or None,
        recipients=tuple(r for r in recipients.replace(",", " ").split() if r),
    )


@router.post("/cases/{case_id}/share/preview", response_class=HTMLResponse)
async def preview_share(  # noqa: PLR0913, PLR0917 - a form's fields
    case_id: CaseId,
    request: Request,
    identity: UiIdentity,
    state: State,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.INTEL, page=True))],
    tlp: Annotated[str, Form(max_length=16)] = "",
    group: Annotated[str, Form(max_length=128)] = "",
    collection: Annotated[str, Form(max_length=128)] = "",
    recipients: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Exactly the objects that would leave (the TLP marking and the group's agreement applied), before the
    person confirms: nothing is shared here. The policy is asked first, as for the share itself."""
    await check_csrf(request, identity)
    share = _share_request(case_id, tlp, group, collection, recipients)
    now = datetime.now(UTC)
    try:
        sharing.check_share(session=guard.db, principal=guard.principal, request=share)
        objects = sharing.preview(
            session=guard.db,
            engine=state.engine,
            data_dir=state.settings.data_dir,
            agency=guard.agency,
            request=share,
            now=now,
        )
    except store.ForbiddenError as error:
        guard.db.commit()  # the refusal's audit entry
        raise ApiError(403, f"forbidden: {error}") from None
    except NotFoundError as error:
        raise ApiError(404, str(error)) from None
    except store.IntelError as error:
        raise ApiError(error.status, str(error)) from None
    digest = sharing.preview_digest(objects)
    guard.log(
        resource_id=f"preview:seizure:{case_id}",
        detail={"tlp": share.tlp.value, "group": share.group, "objects": stix.bundle_ids(objects)},
    )
    guard.db.commit()  # the audit entry, and the agency's pseudonym key if this was its first use
    return render(
        request,
        "share_preview.html",
        identity,
        case_id=case_id,
        share=share,
        collection_title=next(
            (
                c.title
                for c in exchange.share_targets(session=guard.db, agency=guard.agency)
                if c.id == collection
            ),
            collection,
        ),
        objects=[(obj, json.dumps(obj, indent=2, ensure_ascii=False)) for obj in objects],
        previewed_at=now.isoformat(),
        digest=digest,
        recipients=recipients,
    )


@router.post("/cases/{case_id}/share")
async def share_case(  # noqa: PLR0913, PLR0917 - a form's fields
    case_id: CaseId,
    request: Request,
    identity: UiIdentity,
    state: State,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.INTEL, page=True))],
    tlp: Annotated[str, Form(max_length=16)] = "",
    group: Annotated[str, Form(max_length=128)] = "",
    collection: Annotated[str, Form(max_length=128)] = "",
    recipients: Annotated[str, Form(max_length=1000)] = "",
    previewed_at: Annotated[str, Form(max_length=64)] = "",
    digest: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Share the seizure of a closed case as previewed: the person signed in confirms the objects the preview
    showed them (its moment and digest); if anything that would leave changed since, nothing leaves."""
    await check_csrf(request, identity)
    share = _share_request(case_id, tlp, group, collection, recipients)
    try:
        moment = datetime.fromisoformat(previewed_at)
    except ValueError:
        raise ApiError(422, "preview the objects before sharing them", field="previewed_at") from None
    age = datetime.now(UTC) - moment if moment.tzinfo else None
    if age is None or not timedelta(0) <= age <= PREVIEW_VALID or not digest:
        raise ApiError(
            422, "the preview is missing or older than 30 minutes: preview again", field="previewed_at"
        )
    try:
        decision = sharing.share(
            session=guard.db,
            engine=state.engine,
            data_dir=state.settings.data_dir,
            principal=guard.principal,
            request=share,
            now=moment,
            previewed=digest,
        )
    except store.ForbiddenError as error:
        guard.db.commit()  # the refusal's audit entry, written by ``share`` before anything else
        raise ApiError(403, f"forbidden: {error}") from None
    except store.IntelError as error:  # nothing kept: the request's transaction is rolled back
        raise ApiError(error.status, str(error)) from None
    guard.db.commit()
    return RedirectResponse(f"/cases/{case_id}?done=shared#share-{decision.id}", status_code=303)
