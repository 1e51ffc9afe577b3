"""``GET /api/health``: whether the server answers and reaches its database, for load balancers and probes.

The one endpoint without authentication besides the login form: a probe holds no credentials, and the answer
says nothing about any agency's data.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from borderwatch.web.deps import State

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]


@router.get("/health", summary="The server is up and its database answers")
def health(state: State) -> Health:
    with state.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return Health(status="ok")
