"""The one authorisation policy: every access in borderwatch is decided by :func:`decide`.

Two rules, applied in order:

1. the role must hold the permission for the action on the kind of resource (:data:`PERMISSIONS`);
2. a record belonging to an agency may only be touched by a principal of that same agency.

Denials are reported as "not found" for records of another agency, so that their existence does not leak.
Queries over many records (screening decisions that suppress hits, lists) are confined by the same rule 2:
:func:`readable_agency` names the one agency whose records the principal may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ANALYST = "analyst"
    INSPECTOR = "inspector"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    INSTRUCTOR = "instructor"
    """Writes and runs training exercises, sees every trainee's results of the agency (the cohort)."""
    TRAINEE = "trainee"
    """Plays training exercises and sees only their own results; no access to live records."""


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
    LEDGER = "ledger"
    TRAVELLER = "traveller"
    VEHICLE = "vehicle"
    INTEL = "intel"
    SESSION = "session"
    """A login: what the audit log records for each attempt, allowed or refused."""
    TRAINING = "training"
    """Training scenarios and exercises (synthetic or pseudonymised traffic, never live records)."""
    TRAINING_RESULT = "training_result"
    """A trainee's attempt at an exercise and its score: their own, or the cohort's for instructors."""
    PIPELINE = "pipeline"
    """The pipeline's dead letters (messages that kept failing, with their error): read, and re-queue."""


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
    Resource.VEHICLE: frozenset({R, C, U}),
    Resource.INTEL: frozenset({R, C}),
    Resource.LEDGER: frozenset({R, C}),
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
    Resource.VEHICLE: frozenset({R, U}),
    Resource.INTEL: frozenset({R}),
    Resource.LEDGER: frozenset({R, C}),
}
# Officers practise too: reading and playing exercises, their own results only (``decide_training_result``).
_PLAYER: dict[Resource, frozenset[Action]] = {
    Resource.TRAINING: frozenset({R}),
    Resource.TRAINING_RESULT: frozenset({R, C}),
}
_ANALYST |= _PLAYER
_INSPECTOR |= _PLAYER
_TRAINEE: dict[Resource, frozenset[Action]] = dict(_PLAYER)
_INSTRUCTOR: dict[Resource, frozenset[Action]] = {
    Resource.TRAINING: _ALL,
    Resource.TRAINING_RESULT: frozenset({R, C}),
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
    Role.INSTRUCTOR: _INSTRUCTOR,
    Role.TRAINEE: _TRAINEE,
}

# Who sees every trainee's results of the agency (the cohort dashboard); everyone else sees only their own.
COHORT_ROLES = frozenset({Role.INSTRUCTOR, Role.SUPERVISOR, Role.ADMIN})


# What anyone may read without an account. A transparency log is checked by those it does not trust: the
# exporter, the bank, a partner agency, a witness, a mirror. Its signed checkpoints, tiles, entry bundles and
# proofs are public by design (C2SP tlog-tiles: any static server or CDN may serve them); the entries hold
# keyed fingerprints, never documents. Registering, the witness's cosigning and the alerts need an account.
PUBLIC_READ: frozenset[Resource] = frozenset({Resource.LEDGER})


def decide_public(action: Action, resource: Resource) -> Decision:
    """Whether a request without an account may do ``action`` on ``resource`` (only reading public data)."""
    if action is Action.READ and resource in PUBLIC_READ:
        return Decision(True, "public by design")
    return Decision(False, f"{action} {resource} needs an account")


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


class TLP(StrEnum):
    """Traffic Light Protocol 2.0, the one vocabulary of sharing levels (their STIX ids: ``intel.tlp``)."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"


# Who decides that records leave the agency: a person, never a system token.
SHARING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class CollectionAccess:
    """A TAXII collection's owner and the partner agencies that may read or write it."""

    owner: str
    readers: frozenset[str]
    writers: frozenset[str]


def decide_collection(principal: Principal, action: Action, collection: CollectionAccess) -> Decision:
    """Whether ``principal`` may ``action`` (read: list and get; create: post; delete) a TAXII collection.

    A collection its agency may not read is reported as absent (``hide``), so it is neither listed nor
    readable; one it may read but not write answers 403 to a write."""
    role = decide(principal, action, Resource.INTEL)
    if not role.allowed:
        return role
    agency = principal.agency
    may_read = agency == collection.owner or agency in collection.readers
    may_write = agency == collection.owner or agency in collection.writers
    if not may_read and not may_write:
        return Decision(False, "collection not shared with this agency", hide=True)
    if action is Action.READ and not may_read:
        return Decision(False, "this agency may not read the collection")
    if action in {Action.CREATE, Action.UPDATE, Action.DELETE} and not may_write:
        return Decision(False, "this agency may only read the collection")
    return Decision(True, "allowed")


@dataclass(frozen=True, slots=True)
class Marking:
    """What decides who may see one stored intelligence object."""

    owner: str
    """the agency whose collection holds it"""
    source: str
    """the agency that sent it (the owner, for its own shares)"""
    tlp: TLP
    released: bool
    """a recorded share decision let the owner's own object leave"""
    group_members: frozenset[str] = frozenset()
    """the members of the sharing group of an AMBER share, as they are now"""
    recipients: frozenset[str] = frozenset()
    """the named recipients of a TLP:RED share"""


def decide_intel_read(agency: str, marking: Marking) -> Decision:
    """Whether a reader of the collection from ``agency`` may see one object (TLP 2.0).

    The sender always sees what it sent. The owner's own objects leave only by a share decision: CLEAR and
    GREEN to every reader of the collection, AMBER and AMBER+STRICT to the members of the share's group,
    RED to its named recipients. An object received from a partner is that partner's to share: CLEAR and
    GREEN reach every reader of the collection, AMBER, AMBER+STRICT and RED only the receiving organisation
    (the owner), never re-shared."""
    if agency in {marking.source, marking.owner}:
        return Decision(True, "allowed")
    if marking.source == marking.owner and not marking.released:
        return Decision(False, "no share decision released it", hide=True)
    if marking.tlp in {TLP.CLEAR, TLP.GREEN}:
        return Decision(True, "allowed")
    if marking.source != marking.owner:
        return Decision(
            False, f"TLP:{marking.tlp.upper()} received from a partner is not re-shared", hide=True
        )
    if marking.tlp is TLP.RED:
        if agency in marking.recipients:
            return Decision(True, "allowed")
        return Decision(False, "TLP:RED and not a named recipient", hide=True)
    if agency in marking.group_members:
        return Decision(True, "allowed")
    return Decision(False, f"TLP:{marking.tlp.upper()} and not in the sharing group", hide=True)


def decide_share(
    principal: Principal,
    *,
    kind: str,
    tlp: TLP,
    agreement_kinds: frozenset[str] | None,
    recipients: frozenset[str] = frozenset(),
    received_tlp: TLP | None = None,
) -> Decision:
    """Whether ``principal`` may decide that a record of ``kind`` leaves under ``tlp``.

    Only a person (a session, not an API token) holding a sharing role decides; AMBER needs a sharing group
    whose agreement covers ``kind``; RED needs named recipients; a record received under AMBER or RED is
    never re-shared."""
    if principal.role not in SHARING_ROLES:
        return Decision(False, f"role {principal.role} may not decide to share intelligence")
    if principal.via == "token":
        return Decision(False, "a share is decided by a person, not by an API token")
    if received_tlp is not None and received_tlp not in {TLP.CLEAR, TLP.GREEN}:
        return Decision(False, f"received under TLP:{received_tlp.upper()}: not to be re-shared")
    if tlp is TLP.RED and not recipients:
        return Decision(False, "TLP:RED needs named recipients")
    if tlp in {TLP.AMBER, TLP.AMBER_STRICT} and agreement_kinds is None:
        return Decision(False, f"TLP:{tlp.upper()} needs a sharing group")
    if agreement_kinds is not None and kind not in agreement_kinds:
        return Decision(False, f"the sharing group's agreement does not cover {kind} records")
    return Decision(True, "allowed")


def decide_training_result(
    principal: Principal, action: Action, *, owner: str | None, record_agency: str | None
) -> Decision:
    """Whether ``principal`` may ``action`` one training attempt of ``owner`` (a username) in
    ``record_agency``, or, with ``owner=None``, the cohort's attempts. A trainee's results are their own:
    another trainee's attempt is reported as absent; instructors (and supervisors, admins) see the cohort;
    only the trainee submits their own attempt."""
    role = decide(principal, action, Resource.TRAINING_RESULT, record_agency=record_agency)
    if not role.allowed:
        return role
    if owner == principal.username:
        return Decision(True, "allowed")
    if action is not Action.READ:
        return Decision(
            False, "nobody plays or changes an attempt in another officer's name", hide=owner is not None
        )
    if principal.role in COHORT_ROLES:
        return Decision(True, "allowed")
    if owner is None:
        return Decision(False, f"role {principal.role} sees only its own training results")
    return Decision(False, "another officer's training result", hide=True)


def readable_agency(principal: Principal, action: Action, resource: Resource) -> str | None:
    """The agency whose ``resource`` records ``principal`` may ``action`` (rule 1, then rule 2: its own), or
    None when the role may not: the filter for queries over many records, such as the screening decisions
    that suppress hits."""
    if not decide(principal, action, resource).allowed:
        return None
    return principal.agency
