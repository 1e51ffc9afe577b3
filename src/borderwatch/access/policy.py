"""The one authorisation policy: every access in borderwatch is decided by :func:`decide`.

Two rules, applied in order:

1. the role must hold the permission for the action on the kind of resource (:data:`PERMISSIONS`);
2. a record belonging to an agency may only be touched by a principal of that same agency.

Denials are reported as "not found" for records of another agency, so that their existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ANALYST = "analyst"
    INSPECTOR = "inspector"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Action(StrEnum):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class Resource(StrEnum):
    DECLARATION = "declaration"
    WORKLIST = "worklist"
    LANE = "lane"
    CASE = "case"
    OUTCOME = "outcome"
    SCREENING = "screening"
    PROFILE = "profile"
    MODEL = "model"
    MONITORING = "monitoring"
    JOB = "job"
    USER = "user"
    AUDIT = "audit"
    TRAVELLER = "traveller"


R, C, U, D = Action.READ, Action.CREATE, Action.UPDATE, Action.DELETE
_ALL = frozenset(Action)

_ANALYST: dict[Resource, frozenset[Action]] = {
    Resource.DECLARATION: frozenset({R, C}),
    Resource.WORKLIST: frozenset({R}),
    Resource.CASE: frozenset({R}),
    Resource.OUTCOME: frozenset({R}),
    Resource.SCREENING: frozenset({R, C}),
    Resource.PROFILE: _ALL,
    Resource.MODEL: frozenset({R}),
    Resource.MONITORING: frozenset({R}),
    Resource.JOB: frozenset({R, C}),
    Resource.TRAVELLER: frozenset({R}),
}
_INSPECTOR: dict[Resource, frozenset[Action]] = {
    Resource.DECLARATION: frozenset({R}),
    Resource.WORKLIST: frozenset({R}),
    Resource.CASE: frozenset({R, U}),
    Resource.OUTCOME: frozenset({R, C}),
    Resource.SCREENING: frozenset({R}),
    Resource.PROFILE: frozenset({R}),
    Resource.MONITORING: frozenset({R}),
    Resource.JOB: frozenset({R}),
    Resource.TRAVELLER: frozenset({R}),
}
_SUPERVISOR: dict[Resource, frozenset[Action]] = {
    **{resource: _ALL for resource in Resource if resource is not Resource.USER},
    Resource.USER: frozenset({R}),
}
_ADMIN: dict[Resource, frozenset[Action]] = dict.fromkeys(Resource, _ALL)

PERMISSIONS: dict[Role, dict[Resource, frozenset[Action]]] = {
    Role.ANALYST: _ANALYST,
    Role.INSPECTOR: _INSPECTOR,
    Role.SUPERVISOR: _SUPERVISOR,
    Role.ADMIN: _ADMIN,
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a person logged in, or a system holding an API token on behalf of an account."""

    user_id: int
    username: str
    role: Role
    agency: str
    via: str = "session"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    hide: bool = False
    """True when the record should be reported as absent rather than forbidden (another agency's record)."""


def decide(
    principal: Principal, action: Action, resource: Resource, *, record_agency: str | None = None
) -> Decision:
    """Whether ``principal`` may do ``action`` on ``resource`` (a record of ``record_agency`` if given)."""
    allowed_actions = PERMISSIONS[principal.role].get(resource, frozenset())
    if action not in allowed_actions:
        return Decision(False, f"role {principal.role} may not {action} {resource} records")
    if record_agency is not None and record_agency != principal.agency:
        return Decision(False, f"{resource} belongs to another agency", hide=True)
    return Decision(True, "allowed")
