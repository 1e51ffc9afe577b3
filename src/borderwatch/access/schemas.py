"""API shapes of users, tokens and audit entries (never a password or token hash)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from borderwatch.access.policy import Role
from borderwatch.core.clock import UtcDateTime


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    role: Role
    agency: str
    active: bool
    locked: bool = Field(default=False, description="locked after repeated failed logins; an admin unlocks")

    @model_validator(mode="before")
    @classmethod
    def _locked(cls, value: Any) -> Any:
        if hasattr(value, "locked_at"):  # a stored user
            return {
                "username": value.username,
                "role": value.role,
                "agency": value.agency,
                "active": value.active,
                "locked": value.locked_at is not None,
            }
        return value


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
