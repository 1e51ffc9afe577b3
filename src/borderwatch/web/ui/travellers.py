"""Traveller pages: the referral queue for the desk, a movement's passenger list, a traveller's file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from borderwatch.access.policy import Action, Resource
from borderwatch.travellers import service
from borderwatch.web.deps import Guard, UiIdentity, require
from borderwatch.web.ui.common import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Guard, Depends(require(Action.READ, Resource.TRAVELLER, page=True))]


@router.get("/travellers", response_class=HTMLResponse)
def referral_queue_page(request: Request, identity: UiIdentity, guard: Reader) -> Response:
    lines = service.referral_queue(session=guard.db, agency=guard.agency)
    movements = service.list_movements(session=guard.db, agency=guard.agency, limit=50)
    guard.log(detail={"referrals": len(lines)})
    return render(request, "travellers.html", identity, lines=lines, movements=movements)


@router.get("/travellers/movements/{movement_id}", response_class=HTMLResponse)
def movement_page(movement_id: int, request: Request, identity: UiIdentity, guard: Reader) -> Response:
    movement = guard.fetch(
        lambda: service.get_movement_by_id(session=guard.db, movement_id=movement_id),
        agency_of=lambda found: found.agency,
        resource_id=f"movement {movement_id}",
        noun="movement",
    )
    lines = service.movement_lines(session=guard.db, movement_id=movement_id)
    return render(request, "travellers_movement.html", identity, movement=movement, lines=lines)


@router.get("/travellers/{traveller_id}", response_class=HTMLResponse)
def traveller_page(traveller_id: int, request: Request, identity: UiIdentity, guard: Reader) -> Response:
    view = guard.fetch(
        lambda: service.traveller_view(session=guard.db, traveller_id=traveller_id),
        agency_of=lambda found: found.traveller.agency,
        resource_id=f"traveller {traveller_id}",
        noun="traveller",
    )
    return render(request, "travellers_traveller.html", identity, view=view)
