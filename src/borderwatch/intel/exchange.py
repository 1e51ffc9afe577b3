"""Pull from and push to partners' TAXII servers (``taxii2-client``), and use what was received.

- received objects land in the agency's inbox collection (owned by it, shared with nobody), each version once
  (idempotent by id and modified), with its provenance: the partner, its URL, its TLP, when it arrived;
- received indicators become the agency's risk profiles (points, a reason naming the partner and the
  indicator, expiring at ``valid_until``): written through ``scoring.profile_store``;
- received parties become a screening list (``intel-<partner>``), through ``screening.service``;
- local matches of received indicators are recorded as sightings, and sent back as counts only.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from taxii2client.common import _HTTPConnection  # its public conn= takes one (see _Connection)
from taxii2client.v21 import Collection as TaxiiCollection
from taxii2client.v21 import as_pages

from borderwatch.access.policy import TLP
from borderwatch.core.errors import NotFoundError
from borderwatch.ingest.store import load_declarations
from borderwatch.intel import stix, store
from borderwatch.intel.models import IntelObjectRow, IntelPartnerRow, ShareDecisionRow, SightingRow
from borderwatch.intel.validate import canonical_timestamp
from borderwatch.scoring.profile_store import (
    agency_profiles_dir,
    load_agency_profiles,
    profile_file,
    write_profile,
)
from borderwatch.scoring.profiles import evaluate_profiles
from borderwatch.screening.entries import WatchEntry
from borderwatch.screening.service import store_entries

INBOX = "inbox"
RECEIVED_AUTHOR = "intel:"


def inbox(*, session: Session, agency: str) -> store.Collection:
    """The agency's collection of what partners sent it (created the first time)."""
    for collection in store.owned_collections(session=session, agency=agency):
        if collection.alias == INBOX:
            return collection
    return store.add_collection(
        session=session,
        agency=agency,
        title="received from partners",
        description="intelligence pulled from partners' TAXII servers",
        alias=INBOX,
    )


def add_partner(*, session: Session, agency: str, name: str, collection_url: str) -> IntelPartnerRow:
    if not collection_url.endswith("/"):
        collection_url += "/"
    row = IntelPartnerRow(agency=agency, name=name, collection_url=collection_url)
    session.add(row)
    session.flush()
    return row


def get_partner(*, session: Session, agency: str, name: str) -> IntelPartnerRow:
    row = session.scalar(
        select(IntelPartnerRow).where(IntelPartnerRow.agency == agency, IntelPartnerRow.name == name)
    )
    if row is None:
        raise NotFoundError(f"no partner {name!r}; add it with 'borderwatch intel partners add'")
    return row


def list_partners(*, session: Session, agency: str) -> list[IntelPartnerRow]:
    return list(
        session.scalars(
            select(IntelPartnerRow).where(IntelPartnerRow.agency == agency).order_by(IntelPartnerRow.name)
        )
    )


class _Connection(_HTTPConnection):  # type: ignore[misc]
    """taxii2-client's connection, keeping the newest ``X-TAXII-Date-Added-Last`` it was answered: the client
    returns envelopes without their headers, and that header is the point TAXII 2.1 gives to resume from
    (``added_after``). Its ``conn=`` parameter is the client's public way to pass a connection."""

    def __init__(self, *, user: str, password: str) -> None:
        super().__init__(user=user, password=password, version="2.1")
        self.date_added_last: str | None = None
        self.session.hooks["response"].append(self._keep)

    def _keep(self, response: Any, *_: Any, **__: Any) -> None:
        value = response.headers.get("X-TAXII-Date-Added-Last")
        if not value:
            return
        try:
            newest = canonical_timestamp(value)
        except ValueError:  # a partner's malformed header: not a point to resume from
            return
        if self.date_added_last is None or newest > canonical_timestamp(self.date_added_last):
            self.date_added_last = value


class PartnerCollection(TaxiiCollection):  # type: ignore[misc]
    """The reference client on a partner's collection, remembering where its answers ended."""

    def __init__(self, url: str, *, user: str, password: str) -> None:
        self.connection = _Connection(user=user, password=password)
        super().__init__(url, conn=self.connection)

    @property
    def date_added_last(self) -> str | None:
        return self.connection.date_added_last


def client(partner: IntelPartnerRow, *, user: str, secret: str) -> PartnerCollection:
    """The reference client on the partner's collection (HTTP Basic: a user and a password or API token)."""
    return PartnerCollection(partner.collection_url, user=user, password=secret)


@dataclass(slots=True)
class PullReport:
    received: int = 0
    stored: int = 0
    already: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    added_after: str | None = None
    """Where the pull resumed (the partner's date of the last object of the previous pull), None: all."""


def pull(
    *,
    session: Session,
    agency: str,
    partner: IntelPartnerRow,
    remote: TaxiiCollection,
    per_request: int = 1000,
    full: bool = False,
) -> PullReport:
    """What the partner lets this agency read and added since the last pull of this collection (everything
    with ``full``, or the first time), into the inbox; nothing received is dropped silently: an object the
    inbox refuses is in the report's failures. The point to resume from is the partner's own
    ``X-TAXII-Date-Added-Last`` (never this machine's clock), remembered per partner collection."""
    box = inbox(session=session, agency=agency)
    report = PullReport(added_after=None if full else partner.last_added)
    since = {"added_after": report.added_after} if report.added_after else {}
    for envelope in as_pages(remote.get_objects, per_request=per_request, **since):
        objects = envelope.get("objects", [])
        report.received += len(objects)
        status = store.add_objects(
            session=session,
            collection=box,
            objects=objects,
            provenance=store.Provenance(source_agency=partner.name, source=partner.collection_url),
        )
        report.already += sum(1 for s in status.successes if s.get("message") == "already stored")
        report.stored += sum(1 for s in status.successes if s.get("message") != "already stored")
        report.failures.extend(status.failures)
    newest = remote.date_added_last if isinstance(remote, PartnerCollection) else None
    if newest is not None:
        partner.last_added = newest
    session.flush()
    return report


@dataclass(slots=True)
class UseReport:
    profiles: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    parties: int = 0


def use_received(
    *,
    session: Session,
    agency: str,
    data_dir: Path,
    today: date | None = None,
    force_lane: str | None = None,
) -> UseReport:
    """Received indicators as risk profiles, received parties as screening lists (one per partner).
    ``force_lane``: the receiving agency's choice that a hit of a partner's indicator also forces that lane
    (by default it only adds the indicator's points)."""
    today = today or datetime.now(UTC).date()
    box = inbox(session=session, agency=agency)
    directory = agency_profiles_dir(data_dir, agency)
    report = UseReport()
    parties: dict[str, list[WatchEntry]] = defaultdict(list)
    for _pk, obj, partner, _source in store.stored_objects(
        session=session, collection_id=box.id, types=["indicator", "identity"]
    ):
        if obj["type"] == "identity":
            entry = _party_entry(obj, partner)
            if entry is not None:
                parties[partner].append(entry)
            continue
        try:
            received = stix.indicator_profile(obj, partner=partner, force_lane=force_lane)
        except ValueError:
            report.skipped.append(str(obj["id"]))
            continue
        target = profile_file(directory, received.profile.id)
        valid_to = received.profile.valid_to
        if (valid_to is not None and valid_to < today) or obj.get("revoked"):
            target.unlink(missing_ok=True)
            report.expired.append(received.indicator_id)
            continue
        write_profile(directory, received.profile)
        report.profiles.append(received.profile.id)
    for partner, entries in parties.items():
        store_entries(session=session, entries=entries, fmt="stix", source=f"intel:{partner}")
        report.parties += len(entries)
    return report


def _party_entry(obj: dict[str, Any], partner: str) -> WatchEntry | None:
    extension = (obj.get("extensions") or {}).get(stix.PARTY.id)
    if not isinstance(extension, dict) or extension.get("pseudonymised"):
        return None  # only parties named in clear can be screened against
    country = extension.get("country")
    return WatchEntry(
        entity_id=f"intel-{partner}:{obj['id']}",
        list_name=f"intel-{partner}",
        kind="person" if extension.get("natural_person") else "organization",
        name=str(obj["name"]),
        nationalities=(str(country),) if country else (),
        remarks=f"party of a seizure shared by {partner}",
    )


def record_sightings(
    *, session: Session, engine: Engine, agency: str, data_dir: Path, since: date | None = None
) -> dict[str, int]:
    """Match the received indicators against the agency's declarations; record a local sighting per
    indicator that matched (declarations counted, their LRNs kept here only). Returns indicator id → count."""
    received = [p for p in load_agency_profiles(data_dir, agency) if p.author.startswith(RECEIVED_AUTHOR)]
    declarations = load_declarations(engine, agency=agency, since=since)
    if not received or declarations.height == 0:
        return {}
    frame = declarations.with_columns(
        pl.col("hs_code").str.slice(0, 2).alias("hs2"), pl.col("hs_code").str.slice(0, 4).alias("hs4")
    )
    usable = [p for p in received if p.fields() <= set(frame.columns)]
    hits = evaluate_profiles(frame, usable).with_columns(frame["lrn"], frame["declared_on"])
    ids = {p.id: p for p in usable}
    counts: dict[str, int] = {}
    exploded = hits.select("lrn", "declared_on", "rule_hits").explode("rule_hits").drop_nulls("rule_hits")
    for (profile_id,), group in exploded.group_by("rule_hits"):
        profile = ids[str(profile_id)]
        indicator_id = profile.rationale.split(" ", 2)[1]
        count = group["lrn"].n_unique()
        counts[indicator_id] = count
        row = session.scalar(
            select(SightingRow).where(
                SightingRow.agency == agency,
                SightingRow.direction == "local",
                SightingRow.indicator_id == indicator_id,
            )
        )
        days: list[date] = sorted(group["declared_on"].to_list())
        first = datetime.combine(days[0], datetime.min.time(), tzinfo=UTC)
        last = datetime.combine(days[-1], datetime.min.time(), tzinfo=UTC)
        if row is None:
            row = SightingRow(
                agency=agency,
                direction="local",
                indicator_id=indicator_id,
                partner=profile.author.removeprefix(RECEIVED_AUTHOR),
                first_seen=first,
                last_seen=last,
            )
            session.add(row)
        row.count, row.first_seen, row.last_seen, row.sent = count, first, max(last, first), False
    session.flush()
    return counts


def push_sightings(
    *, session: Session, agency: str, partner: IntelPartnerRow, remote: TaxiiCollection
) -> int:
    """Send the partner the counts of local matches of its indicators (no declaration details)."""
    rows = session.scalars(
        select(SightingRow).where(
            SightingRow.agency == agency,
            SightingRow.direction == "local",
            SightingRow.partner == partner.name,
            SightingRow.sent.is_(False),
        )
    ).all()
    if not rows:
        return 0
    now = datetime.now(UTC)
    objects = [
        stix.sighting_object(
            indicator_id=row.indicator_id,
            count=row.count,
            agency=agency,
            tlp=TLP.AMBER,
            first_seen=_utc(row.first_seen),
            last_seen=_utc(row.last_seen),
            now=now,
        )
        for row in rows
    ]
    status = remote.add_objects({"objects": [stix.agency_identity(agency), *objects]})
    if status.failure_count:
        raise store.IntelError(f"the partner refused sightings: {status.failures[0]}")
    for row, obj in zip(rows, objects, strict=True):
        row.sent, row.stix_id = True, str(obj["id"])
    session.flush()
    return len(rows)


def push_decision(*, session: Session, agency: str, decision_id: int, remote: TaxiiCollection) -> int:
    """Send a partner's server the objects a recorded share decision released (and only those)."""
    decision = session.get(ShareDecisionRow, decision_id)
    if decision is None or decision.agency != agency:
        raise NotFoundError(f"no share decision {decision_id}")
    bodies = session.scalars(
        select(IntelObjectRow.body).where(
            IntelObjectRow.collection_id == decision.collection_id,
            IntelObjectRow.stix_id.in_(decision.object_ids),
            IntelObjectRow.is_latest.is_(True),
        )
    ).all()
    objects = [json.loads(b) for b in bodies]
    status = remote.add_objects({"objects": objects})
    if status.failure_count:
        raise store.IntelError(f"the partner refused objects: {status.failures[0]}")
    return len(objects)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def received_sightings(*, session: Session, agency: str) -> list[dict[str, Any]]:
    """Sightings partners sent of this agency's own indicators (counts), from its collections."""
    found: list[dict[str, Any]] = []
    for collection in store.owned_collections(session=session, agency=agency):
        for _pk, obj, partner, _source in store.stored_objects(
            session=session, collection_id=collection.id, types=["sighting"]
        ):
            if partner != agency:
                found.append(
                    {"partner": partner, "indicator": obj["sighting_of_ref"], "count": obj.get("count", 1)}
                )
    return found


RECEIVED_TYPES = ("indicator", "incident", "sighting")
"""What the workspace lists of what partners sent: indicators, seizures (incidents) and sightings."""


@dataclass(frozen=True, slots=True)
class ReceivedItem:
    """One received STIX object as the workspace lists it, with its provenance."""

    partner: str
    stix_type: str
    stix_id: str
    name: str
    tlp: str
    received_at: datetime
    valid_until: str | None


def _item_name(obj: dict[str, Any]) -> str:
    if obj.get("type") == "sighting":
        return f"{obj.get('count', 1)} × {obj.get('sighting_of_ref', '?')}"
    return str(obj.get("name") or obj.get("description") or obj.get("id", ""))


def received_items(
    *,
    session: Session,
    agency: str,
    types: tuple[str, ...] = RECEIVED_TYPES,
    partner: str | None = None,
    tlp: TLP | None = None,
    limit: int = 1000,
) -> dict[str, list[ReceivedItem]]:
    """The latest versions of what partners sent ``agency`` (its inbox only: kept apart per agency), by
    partner, newest first, optionally of one partner and one TLP. Reads only: an agency that never pulled
    has no inbox and gets nothing."""
    inboxes = [c.id for c in store.owned_collections(session=session, agency=agency) if c.alias == INBOX]
    if not inboxes:
        return {}
    rows = session.execute(
        select(
            IntelObjectRow.source_agency,
            IntelObjectRow.stix_type,
            IntelObjectRow.stix_id,
            IntelObjectRow.tlp,
            IntelObjectRow.date_added,
            IntelObjectRow.body,
        )
        .where(
            IntelObjectRow.collection_id.in_(inboxes),
            IntelObjectRow.is_latest.is_(True),
            IntelObjectRow.stix_type.in_(list(types)),
            *([IntelObjectRow.source_agency == partner] if partner else []),
            *([IntelObjectRow.tlp == tlp.value] if tlp else []),
        )
        .order_by(IntelObjectRow.id.desc())
        .limit(limit)
    )
    found: dict[str, list[ReceivedItem]] = defaultdict(list)
    for sender, stix_type, stix_id, level, added, body in rows:
        obj = json.loads(body)
        found[sender].append(
            ReceivedItem(
                partner=sender,
                stix_type=stix_type,
                stix_id=stix_id,
                name=_item_name(obj),
                tlp=level,
                received_at=_utc(added),
                valid_until=obj.get("valid_until"),
            )
        )
    return dict(sorted(found.items()))


def share_targets(*, session: Session, agency: str) -> list[store.Collection]:
    """The collections a share of ``agency`` may go to: its own, not the inbox of what it received."""
    return [c for c in store.owned_collections(session=session, agency=agency) if c.alias != INBOX]
