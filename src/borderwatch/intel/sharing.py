"""Sharing groups and their agreements, keyed pseudonyms, and the share flow: a person's recorded decision
that a closed case's seizure or a risk profile leaves, under a TLP level, to a group or named recipients.

Nothing leaves without a :class:`ShareDecisionRow` made by a person the access policy lets decide
(:func:`~borderwatch.access.policy.decide_share`); the objects it releases are exactly the preview's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from borderwatch.access import audit
from borderwatch.access.policy import TLP, Action, Principal, Resource, decide_share
from borderwatch.core.errors import NotFoundError
from borderwatch.ingest.store import load_declarations
from borderwatch.inspections.service import get_case
from borderwatch.intel import stix, store
from borderwatch.intel.models import (
    IntelKeyRow,
    ShareDecisionRow,
    SharingGroupMemberRow,
    SharingGroupRow,
)
from borderwatch.scoring.profile_store import load_agency_profiles
from borderwatch.screening.service import party_names_frame

KINDS = ("seizure", "indicator")


# --- groups -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    name: str
    members: tuple[str, ...]
    kinds: tuple[str, ...]
    personal_data: bool
    sightings: bool


def _group(session: Session, row: SharingGroupRow) -> Group:
    members = session.scalars(
        select(SharingGroupMemberRow.agency)
        .where(SharingGroupMemberRow.group_id == row.id)
        .order_by(SharingGroupMemberRow.agency)
    ).all()
    return Group(row.id, row.name, tuple(members), tuple(row.kinds), row.personal_data, row.sightings)


def add_group(
    *,
    session: Session,
    agency: str,
    name: str,
    members: Iterable[str],
    kinds: Sequence[str] = KINDS,
    personal_data: bool = False,
    sightings: bool = True,
) -> Group:
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise store.IntelError(f"unknown record kind {unknown[0]!r}; use {', '.join(KINDS)}")
    row = SharingGroupRow(
        agency=agency, name=name, kinds=list(kinds), personal_data=personal_data, sightings=sightings
    )
    session.add(row)
    session.flush()
    for member in sorted(set(members)):
        session.add(SharingGroupMemberRow(group_id=row.id, agency=member))
    session.flush()
    return _group(session, row)


def get_group(*, session: Session, agency: str, name: str) -> Group:
    row = session.scalar(
        select(SharingGroupRow).where(SharingGroupRow.agency == agency, SharingGroupRow.name == name)
    )
    if row is None:
        raise NotFoundError(f"no sharing group {name!r}")
    return _group(session, row)


def list_groups(*, session: Session, agency: str) -> list[Group]:
    rows = session.scalars(
        select(SharingGroupRow).where(SharingGroupRow.agency == agency).order_by(SharingGroupRow.name)
    ).all()
    return [_group(session, row) for row in rows]


def remove_member(*, session: Session, agency: str, name: str, member: str) -> Group:
    """Take a partner out of a group: from the next request on it no longer sees the group's shares."""
    group = get_group(session=session, agency=agency, name=name)
    session.execute(
        delete(SharingGroupMemberRow).where(
            SharingGroupMemberRow.group_id == group.id, SharingGroupMemberRow.agency == member
        )
    )
    session.flush()
    return get_group(session=session, agency=agency, name=name)


# --- pseudonyms ---------------------------------------------------------------------------------------------


def pseudonymiser(*, session: Session, agency: str) -> stix.Pseudonymise:
    """The agency's keyed pseudonym (HMAC-SHA-256 under a secret made once and kept in the database): the
    same person gets the same pseudonym in every share, which partners cannot reverse."""
    row = session.get(IntelKeyRow, agency)
    if row is None:
        row = IntelKeyRow(agency=agency, secret=secrets.token_hex(32))
        session.add(row)
        session.flush()
    key = bytes.fromhex(row.secret)

    def pseudonym(value: str) -> str:
        normalised = " ".join(value.casefold().split())
        return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()[:20]

    return pseudonym


# --- what leaves --------------------------------------------------------------------------------------------


def seizure_record(*, session: Session, engine: Engine, agency: str, case_id: int) -> stix.SeizureRecord:
    """The seizure of one closed case of ``agency``, with its declaration's route and parties."""
    case = get_case(session=session, case_id=case_id)
    if case.agency != agency:
        raise NotFoundError(f"no inspection case {case_id}")
    seizure = next((f for f in case.findings if f.result == "seizure"), None)
    if case.status != "closed" or seizure is None:
        raise store.IntelError(f"case {case_id} is not closed with a seizure: nothing to share", status=422)
    frame = load_declarations(engine, agency=agency, lrns=[case.lrn])
    if frame.height == 0:
        raise NotFoundError(f"no declaration {case.lrn!r} for case {case_id}")
    first = frame.row(0, named=True)
    parties = party_names_frame(engine, agency=agency, lrns=[case.lrn])
    return stix.SeizureRecord(
        case_id=case.id,
        seized_on=seizure.recorded_on,
        hs_code=str(first["hs_code"]),
        goods=seizure.goods or "undisclosed goods",
        quantity=seizure.quantity,
        quantity_unit=seizure.quantity_unit,
        concealment=seizure.concealment,
        origin_country=first["origin_country"],
        departure_country=first["departure_country"],
        transit_countries=tuple((first["transit_countries"] or "").split()),
        transport_mode=first["transport_mode"],
        office=first["office"],
        parties=tuple(
            stix.Party(
                role=row["role"], party_id=row["party_id"], name=row["party_name"], country=row["country"]
            )
            for row in parties.iter_rows(named=True)
        ),
    )


@dataclass(frozen=True, slots=True)
class ShareRequest:
    kind: str
    """seizure (``record_id`` a case id) or indicator (``record_id`` a risk-profile id)"""
    record_id: str
    collection_id: str
    tlp: TLP
    group: str | None = None
    recipients: tuple[str, ...] = ()


def preview(
    *,
    session: Session,
    engine: Engine,
    data_dir: Path,
    agency: str,
    request: ShareRequest,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Exactly the objects that would leave for ``request``: the agency's identity, the customs extension
    definitions, and the record's objects (personal data pseudonymised unless the group's agreement
    allows it)."""
    now = now or datetime.now(UTC)
    group = get_group(session=session, agency=agency, name=request.group) if request.group else None
    if request.kind == "seizure":
        try:
            case_id = int(request.record_id)
        except ValueError:
            raise store.IntelError(f"a seizure is shared by its case id, not {request.record_id!r}") from None
        record = seizure_record(session=session, engine=engine, agency=agency, case_id=case_id)
        minimise = (
            None
            if group is not None and group.personal_data
            else pseudonymiser(session=session, agency=agency)
        )
        objects = stix.seizure_objects(record, agency=agency, tlp=request.tlp, now=now, pseudonymise=minimise)
    elif request.kind == "indicator":
        profile = next((p for p in load_agency_profiles(data_dir, agency) if p.id == request.record_id), None)
        if profile is None:
            raise NotFoundError(f"no risk profile {request.record_id!r}")
        objects = [stix.indicator_object(profile, agency=agency, tlp=request.tlp, now=now)]
    else:
        raise store.IntelError(f"unknown record kind {request.kind!r}; use {', '.join(KINDS)}")
    return [stix.agency_identity(agency), stix.project_identity(), *stix.extension_definitions(), *objects]


def share(
    *,
    session: Session,
    engine: Engine,
    data_dir: Path,
    principal: Principal,
    request: ShareRequest,
    now: datetime | None = None,
    previewed: str | None = None,
) -> ShareDecisionRow:
    """Record ``principal``'s decision and release the preview's objects into the collection; audited.

    ``previewed`` is the :func:`preview_digest` of the objects the person saw (made at ``now``): when given,
    the share goes ahead only if exactly those objects would leave (IntelError 409 otherwise: the record
    changed since)."""
    agency = principal.agency
    collection = store.get_collection_of(session=session, agency=agency, collection_id=request.collection_id)
    group = get_group(session=session, agency=agency, name=request.group) if request.group else None
    decision = decide_share(
        principal,
        kind=request.kind,
        tlp=request.tlp,
        agreement_kinds=frozenset(group.kinds) if group else None,
        recipients=frozenset(request.recipients),
    )
    if not decision.allowed:
        audit.record_for(
            db_session=session,
            principal=principal,
            action=Action.CREATE,
            resource=Resource.INTEL,
            resource_id=f"{request.kind}:{request.record_id}",
            allowed=False,
            detail={"reason": decision.reason},
        )
        raise store.ForbiddenError(decision.reason)
    objects = preview(
        session=session, engine=engine, data_dir=data_dir, agency=agency, request=request, now=now
    )
    if previewed is not None and not hmac.compare_digest(previewed, preview_digest(objects)):
        raise store.IntelError(
            "what would leave is no longer what was previewed (the record changed): preview it again",
            status=409,
        )
    row = ShareDecisionRow(
        agency=agency,
        decided_by=principal.username,
        role=principal.role.value,
        kind=request.kind,
        record_id=request.record_id,
        tlp=request.tlp.value,
        group_id=group.id if group else None,
        recipients=list(request.recipients) or None,
        collection_id=collection.id,
        object_ids=stix.bundle_ids(objects),
    )
    session.add(row)
    session.flush()
    report = store.add_objects(
        session=session,
        collection=collection,
        objects=objects,
        provenance=store.Provenance(
            source_agency=agency,
            source=f"share:{row.id}",
            tlp=request.tlp,
            released=True,
            decision_id=row.id,
            group_id=group.id if group else None,
            recipients=request.recipients,
        ),
        now=now,
    )
    if report.failures:  # our own objects: a failure is a bug, never a partial share
        raise store.IntelError(f"share refused its own objects: {report.failures[0]}", status=422)
    audit.record_for(
        db_session=session,
        principal=principal,
        action=Action.CREATE,
        resource=Resource.INTEL,
        resource_id=f"{request.kind}:{request.record_id}",
        detail={
            "share": row.id,
            "tlp": request.tlp.value,
            "group": request.group,
            "recipients": list(request.recipients),
            "collection": collection.id,
            "objects": row.object_ids,
        },
    )
    return row


def preview_digest(objects: Sequence[dict[str, Any]]) -> str:
    """A digest of exactly these objects (canonical JSON): what a person saw in a preview, checked again
    when they confirm."""
    text = json.dumps(list(objects), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def check_share(*, session: Session, principal: Principal, request: ShareRequest) -> None:
    """The policy's answer for ``request`` before anything is shown or shared: ForbiddenError with the
    reason (audited as a refused share), NotFoundError for a collection or group not the agency's."""
    agency = principal.agency
    store.get_collection_of(session=session, agency=agency, collection_id=request.collection_id)
    group = get_group(session=session, agency=agency, name=request.group) if request.group else None
    decision = decide_share(
        principal,
        kind=request.kind,
        tlp=request.tlp,
        agreement_kinds=frozenset(group.kinds) if group else None,
        recipients=frozenset(request.recipients),
    )
    if not decision.allowed:
        audit.record_for(
            db_session=session,
            principal=principal,
            action=Action.CREATE,
            resource=Resource.INTEL,
            resource_id=f"{request.kind}:{request.record_id}",
            allowed=False,
            detail={"reason": decision.reason, "preview": True},
        )
        raise store.ForbiddenError(decision.reason)


@dataclass(frozen=True, slots=True)
class ShareSummary:
    """One recorded decision of the agency to let records leave."""

    id: int
    kind: str
    record_id: str
    tlp: TLP
    group: str | None
    recipients: tuple[str, ...]
    collection_id: str
    collection: str
    objects: int
    object_ids: tuple[str, ...]
    decided_by: str
    role: str
    decided_at: datetime


def list_shares(*, session: Session, agency: str, limit: int = 200) -> list[ShareSummary]:
    """The agency's own share decisions, newest first: what left, to which group or recipients, under which
    TLP, when and by whom. Another agency's decisions are never listed."""
    rows = session.scalars(
        select(ShareDecisionRow)
        .where(ShareDecisionRow.agency == agency)
        .order_by(ShareDecisionRow.id.desc())
        .limit(limit)
    ).all()
    groups = {g.id: g.name for g in list_groups(session=session, agency=agency)}
    titles = {c.id: c.title for c in store.owned_collections(session=session, agency=agency)}
    return [
        ShareSummary(
            id=row.id,
            kind=row.kind,
            record_id=row.record_id,
            tlp=TLP(row.tlp),
            group=groups.get(row.group_id) if row.group_id is not None else None,
            recipients=tuple(row.recipients or ()),
            collection_id=row.collection_id,
            collection=titles.get(row.collection_id, row.collection_id),
            objects=len(row.object_ids),
            object_ids=tuple(row.object_ids),
            decided_by=row.decided_by,
            role=row.role,
            decided_at=row.decided_at if row.decided_at.tzinfo else row.decided_at.replace(tzinfo=UTC),
        )
        for row in rows
    ]
