"""API shapes of users, tokens and audit entries (never a password or token hash)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from borderwatch.access.policy import Role
from borderwatch.core.clock import UtcDateTime


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    role: Role
    agency: str
    active: bool


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Role
    password: str | None = Field(default=None, min_length=10, max_length=256)


class Me(BaseModel):
    username: str
    role: Role
    agency: str
    via: str


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: UtcDateTime
    actor: str
    agency: str | None
    action: str
    resource: str
    resource_id: str | None
    allowed: bool
    detail: dict[str, Any] | None
