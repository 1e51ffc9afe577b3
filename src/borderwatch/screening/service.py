"""Watchlist versions in the database, analysts' decisions, and screening of names and declaration parties.

Loading is all-or-nothing: a file is parsed completely before the database is touched, and the new version
is written (bulk inserts) and activated in one transaction, so a malformed file leaves the previous version
active.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import polars as pl
from sqlalchemy import Engine, Select, delete, func, insert, select, update
from sqlalchemy.orm import Session

from borderwatch.core.cache import Cache
from borderwatch.core.errors import NotFoundError
from borderwatch.core.vocabulary import PARTY_ROLES
from borderwatch.screening.entries import Address, Alias, Identifier, WatchEntry
from borderwatch.screening.matcher import DEFAULT_THRESHOLD, Match, Matcher, Query
from borderwatch.screening.models import (
    ScreeningDecisionRow,
    ScreeningHitRow,
    WatchlistAddressRow,
    WatchlistAliasRow,
    WatchlistEntryRow,
    WatchlistIdentifierRow,
    WatchlistVersionRow,
)
from borderwatch.screening.normalize import normalize_name
from borderwatch.screening.parsers import detect_format, read_list_files

if TYPE_CHECKING:
    import psycopg

NOT_MATCH = "not_match"
MATCH = "match"
HIT_SCHEMA: dict[str, pl.DataType] = {
    "lrn": pl.String(),
    "role": pl.String(),
    "party_id": pl.String(),
    "party_name": pl.String(),
    "entity_id": pl.String(),
    "list": pl.String(),
    "name": pl.String(),
    "score": pl.Float64(),
    "explanation": pl.String(),
}
_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What one list load changed, against the version it replaced."""

    list_name: str
    version_id: int
    entries: int
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged_file: bool


def _bulk(session: Session, table: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys): ``COPY`` on PostgreSQL (a list collection of a million
    entries is several million rows), batched ``executemany`` elsewhere."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        columns = list(rows[0])
        raw = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
        statement = f"COPY {table.__tablename__} ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                # JSON columns take their text; COPY would read a Python list as an array
                copy.write_row([json.dumps(v) if isinstance(v, list | dict) else v for v in row.values()])
        return
    for start in range(0, len(rows), _CHUNK):
        session.execute(insert(table), rows[start : start + _CHUNK])


def _active_hashes(session: Session, list_name: str) -> tuple[WatchlistVersionRow | None, dict[str, str]]:
    version = session.scalars(
        select(WatchlistVersionRow).where(
            WatchlistVersionRow.list_name == list_name, WatchlistVersionRow.is_active.is_(True)
        )
    ).first()
    if version is None:
        return None, {}
    rows = session.execute(
        select(WatchlistEntryRow.entity_id, WatchlistEntryRow.content_hash).where(
            WatchlistEntryRow.version_id == version.id
        )
    )
    return version, {str(entity_id): str(digest) for entity_id, digest in rows}


def store_entries(
    *, session: Session, entries: Sequence[WatchEntry], fmt: str, source: str
) -> list[LoadReport]:
    """Store ``entries`` as a new active version of each list they belong to; report the differences."""
    by_list: dict[str, list[WatchEntry]] = defaultdict(list)
    for entry in entries:
        by_list[entry.list_name].append(entry)
    reports = []
    for list_name, group in by_list.items():
        hashes = {e.entity_id: e.content_hash() for e in group}
        digest = hashlib.sha256("".join(sorted(hashes.values())).encode()).hexdigest()
        previous, old = _active_hashes(session, list_name)
        added = sorted(set(hashes) - set(old))
        removed = sorted(set(old) - set(hashes))
        changed = sorted(k for k in set(hashes) & set(old) if hashes[k] != old[k])
        version = WatchlistVersionRow(
            list_name=list_name,
            fmt=fmt,
            source=source,
            content_hash=digest,
            entry_count=len(group),
            added=len(added),
            changed=len(changed),
            removed=len(removed),
            is_active=False,
        )
        session.add(version)
        session.flush()
        vid = version.id
        _bulk(
            session,
            WatchlistEntryRow,
            [
                {
                    "version_id": vid,
                    "entity_id": e.entity_id,
                    "list_name": e.list_name,
                    "kind": e.kind,
                    "name": e.name,
                    "programmes": list(e.programmes),
                    "dobs": list(e.dobs),
                    "nationalities": list(e.nationalities),
                    "remarks": e.remarks,
                    "extra": dict(e.extra),
                    "content_hash": hashes[e.entity_id],
                }
                for e in group
            ],
        )
        _bulk(
            session,
            WatchlistAliasRow,
            [
                {
                    "version_id": vid,
                    "entity_id": e.entity_id,
                    "name": a.name,
                    "weak": a.weak,
                    "alias_type": a.type,
                }
                for e in group
                for a in e.aliases
            ],
        )
        _bulk(
            session,
            WatchlistIdentifierRow,
            [
                {
                    "version_id": vid,
                    "entity_id": e.entity_id,
                    "id_type": i.type,
                    "value": i.value,
                    "country": i.country,
                }
                for e in group
                for i in e.identifiers
            ],
        )
        _bulk(
            session,
            WatchlistAddressRow,
            [
                {"version_id": vid, "entity_id": e.entity_id, "text": a.text, "country": a.country}
                for e in group
                for a in e.addresses
            ],
        )
        if previous is not None:
            session.execute(
                update(WatchlistVersionRow)
                .where(WatchlistVersionRow.id == previous.id)
                .values(is_active=False)
            )
        session.execute(
            update(WatchlistVersionRow).where(WatchlistVersionRow.id == vid).values(is_active=True)
        )
        reports.append(
            LoadReport(
                list_name=list_name,
                version_id=vid,
                entries=len(group),
                added=added,
                changed=changed,
                removed=removed,
                unchanged_file=previous is not None and previous.content_hash == digest,
            )
        )
    return reports


def load_watchlist(
    *, session: Session, path: Path, fmt: str | None = None, list_name: str | None = None
) -> list[LoadReport]:
    """Parse ``path`` and store it as the new active version of its list(s).

    Raises ``ConfigError`` (naming the file and the problem) before anything is written when the file is
    malformed. The caller's session decides the transaction; use ``session_scope``.
    """
    return load_watchlist_files(session=session, paths=[path], fmt=fmt, list_name=list_name)


def load_watchlist_files(
    *, session: Session, paths: Sequence[Path], fmt: str | None = None, list_name: str | None = None
) -> list[LoadReport]:
    """Parse one group of list files (``parsers.group_list_files``: the OFAC set, or one other file) and
    store it as the new active version of its list(s)."""
    fmt = fmt or detect_format(paths[0])
    entries = read_list_files(paths, fmt=fmt, list_name=list_name)
    return store_entries(session=session, entries=entries, fmt=fmt, source=", ".join(map(str, paths)))


def list_versions(*, session: Session, active_only: bool = False) -> list[WatchlistVersionRow]:
    query = select(WatchlistVersionRow).order_by(WatchlistVersionRow.list_name, WatchlistVersionRow.id)
    if active_only:
        query = query.where(WatchlistVersionRow.is_active.is_(True))
    return list(session.scalars(query))


def active_entries(*, session: Session, entity_ids: Sequence[str] | None = None) -> list[WatchEntry]:
    """Every entry of the active version of every list (or only ``entity_ids``), with its details."""
    active = [v.id for v in list_versions(session=session, active_only=True)]
    if not active:
        return []
    entry_query = select(WatchlistEntryRow).where(WatchlistEntryRow.version_id.in_(active))
    if entity_ids is not None:
        entry_query = entry_query.where(WatchlistEntryRow.entity_id.in_(list(entity_ids)))
    rows = list(session.scalars(entry_query))
    wanted = {(r.version_id, r.entity_id) for r in rows}
    aliases: dict[tuple[int, str], list[Alias]] = defaultdict(list)
    identifiers: dict[tuple[int, str], list[Identifier]] = defaultdict(list)
    addresses: dict[tuple[int, str], list[Address]] = defaultdict(list)
    for alias in session.scalars(select(WatchlistAliasRow).where(WatchlistAliasRow.version_id.in_(active))):
        if (alias.version_id, alias.entity_id) in wanted:
            aliases[(alias.version_id, alias.entity_id)].append(
                Alias(alias.name, alias.weak, alias.alias_type)
            )
    for ident in session.scalars(
        select(WatchlistIdentifierRow).where(WatchlistIdentifierRow.version_id.in_(active))
    ):
        if (ident.version_id, ident.entity_id) in wanted:
            key = (ident.version_id, ident.entity_id)
            identifiers[key].append(Identifier(ident.id_type, ident.value, ident.country))
    for addr in session.scalars(
        select(WatchlistAddressRow).where(WatchlistAddressRow.version_id.in_(active))
    ):
        if (addr.version_id, addr.entity_id) in wanted:
            addresses[(addr.version_id, addr.entity_id)].append(Address(addr.text, addr.country))
    return [
        WatchEntry(
            entity_id=r.entity_id,
            list_name=r.list_name,
            kind=r.kind,
            name=r.name,
            aliases=tuple(aliases[(r.version_id, r.entity_id)]),
            programmes=tuple(r.programmes or ()),
            dobs=tuple(r.dobs or ()),
            nationalities=tuple(r.nationalities or ()),
            identifiers=tuple(identifiers[(r.version_id, r.entity_id)]),
            addresses=tuple(addresses[(r.version_id, r.entity_id)]),
            remarks=r.remarks,
            extra=dict(r.extra or {}),
        )
        for r in rows
    ]


def get_entry(*, session: Session, entity_id: str) -> WatchEntry:
    found = active_entries(session=session, entity_ids=[entity_id])
    if not found:
        raise NotFoundError(f"no active watchlist entry {entity_id!r}")
    return found[0]


def build_matcher(*, session: Session) -> Matcher:
    """A matcher over the active version of every stored list."""
    return Matcher(active_entries(session=session))


def query_key(name: str) -> str:
    """The key under which decisions about a screened name are remembered (its normalised form)."""
    return normalize_name(name).text[:512]


def record_decision(
    *,
    session: Session,
    agency: str,
    query_name: str,
    entity_id: str,
    decision: str,
    analyst: str,
    note: str | None = None,
    party_id: str | None = None,
    score: float | None = None,
) -> ScreeningDecisionRow:
    """Remember an analyst's verdict on a hit; ``not_match`` suppresses the same hit in the later screenings
    of ``agency`` (the analyst's), and in no other agency's."""
    if decision not in (NOT_MATCH, MATCH):
        raise ValueError(f"decision must be {NOT_MATCH!r} or {MATCH!r}, not {decision!r}")
    row = ScreeningDecisionRow(
        agency=agency,
        query_key=query_key(query_name),
        query_name=query_name,
        entity_id=entity_id,
        decision=decision,
        analyst=analyst,
        note=note,
        party_id=party_id,
        score=score,
    )
    session.add(row)
    session.flush()
    return row


def suppressed_pairs(*, session: Session, agency: str) -> set[tuple[str, str]]:
    """(query key, entity id) pairs whose latest decision in ``agency`` is ``not_match``: another agency's
    decisions never hide a hit."""
    latest: dict[tuple[str, str], str] = {}
    rows = session.execute(
        select(ScreeningDecisionRow.query_key, ScreeningDecisionRow.entity_id, ScreeningDecisionRow.decision)
        .where(ScreeningDecisionRow.agency == agency)
        .order_by(ScreeningDecisionRow.id)
    )
    for key, entity_id, decision in rows:
        latest[(key, entity_id)] = decision
    return {pair for pair, decision in latest.items() if decision == NOT_MATCH}


def screen_queries(
    *,
    matcher: Matcher,
    queries: Sequence[Query],
    suppressed: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
    threshold: float = DEFAULT_THRESHOLD,
    limit: int = 5,
) -> list[list[Match]]:
    """Matches of each query above ``threshold``, best first, without hits analysts ruled out."""
    results = []
    for query in queries:
        matches = matcher.screen(query, threshold=threshold, limit=limit + 5)
        if suppressed:
            key = query_key(query.name)
            matches = [m for m in matches if (key, m.entity_id) not in suppressed]
        results.append(matches[:limit])
    return results


def party_names_frame(
    engine: Engine, *, agency: str | None = None, lrns: Sequence[str] | None = None
) -> pl.DataFrame:
    """(lrn, role, party_id, party_name, country) of current declarations (``agency``'s when given: an LRN
    is unique within an agency only), from their ``parties`` JSON."""
    from borderwatch.ingest.models import DeclarationRow

    query = select(DeclarationRow.lrn, DeclarationRow.parties).where(DeclarationRow.is_current.is_(True))
    if agency is not None:
        query = query.where(DeclarationRow.agency == agency)
    if lrns is not None:
        query = query.where(DeclarationRow.lrn.in_(list(lrns)))
    return parties_frame(engine, query)


PARTY_SCHEMA: Final = dict.fromkeys(("lrn", "role", "party_id", "party_name", "country"), pl.String())


def parties_frame(engine: Engine, query: Select[tuple[str, Any]]) -> pl.DataFrame:
    """:data:`PARTY_SCHEMA` rows, one per named party of each (lrn, parties JSON) row ``query`` selects."""
    records = []
    with engine.connect() as connection:
        for lrn, parties in connection.execute(query):
            for role, party in (parties or {}).items():
                if isinstance(party, dict) and party.get("name"):
                    records.append((lrn, str(role), party.get("id"), party["name"], party.get("country")))
    return pl.DataFrame(records, schema=PARTY_SCHEMA, orient="row")


def parties_from_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Party names of a declarations frame that carries ``<role>_name`` columns (the extra KCS columns)."""
    parts = []
    for role in PARTY_ROLES:
        name_col = f"{role}_name"
        if name_col not in frame.columns:
            continue
        country_col = f"{role}_country"
        parts.append(
            frame.select(
                pl.col("lrn"),
                pl.lit(role).alias("role"),
                pl.col(f"{role}_id").alias("party_id") if f"{role}_id" in frame.columns else pl.lit(None),
                pl.col(name_col).alias("party_name"),
                (pl.col(country_col) if country_col in frame.columns else pl.lit(None)).alias("country"),
            ).cast(pl.String)
        )
    if not parts:
        return pl.DataFrame(
            schema=dict.fromkeys(("lrn", "role", "party_id", "party_name", "country"), pl.String)
        )
    return pl.concat(parts).filter(pl.col("party_name").is_not_null() & (pl.col("party_name") != "")).unique()


def screen_parties(
    *,
    parties: pl.DataFrame,
    matcher: Matcher,
    suppressed: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
    threshold: float = DEFAULT_THRESHOLD,
) -> pl.DataFrame:
    """Hits (``HIT_SCHEMA``) of every party row (lrn, role, party_id, party_name[, country]).

    Each distinct (role, name) is screened once; organisations are assumed for importers and sellers, and
    persons are not assumed for declarants and couriers (their kind is left open).
    """
    distinct = parties.select("role", "party_name").unique()
    hits: list[tuple[str, str, str, str, str, float, str]] = []
    for role, name in distinct.iter_rows():
        kind = "organization" if role in ("importer", "seller") else None
        (matches,) = screen_queries(
            matcher=matcher, queries=[Query(name=name, kind=kind)], suppressed=suppressed, threshold=threshold
        )
        hits.extend((role, name, m.entity_id, m.list_name, m.name, m.score, m.explanation) for m in matches)
    if not hits:
        return pl.DataFrame(schema=HIT_SCHEMA)
    hit_frame = pl.DataFrame(
        hits,
        schema={
            "role": pl.String,
            "party_name": pl.String,
            "entity_id": pl.String,
            "list": pl.String,
            "name": pl.String,
            "score": pl.Float64,
            "explanation": pl.String,
        },
        orient="row",
    )
    joined = parties.select("lrn", "role", "party_id", "party_name").join(
        hit_frame, on=["role", "party_name"]
    )
    return joined.select(list(HIT_SCHEMA)).sort(["lrn", "score"], descending=[False, True])


def screen_declarations(
    *,
    engine: Engine,
    session: Session,
    declarations: pl.DataFrame,
    agency: str,
    threshold: float = DEFAULT_THRESHOLD,
    matcher: Matcher | None = None,
) -> pl.DataFrame:
    """Watchlist hits of every party of ``declarations`` (``ingest.frame.DECLARATION_SCHEMA`` rows).

    Party names come from the frame's ``<role>_name`` columns when present, else from the stored
    declarations' ``parties`` JSON. Returns ``HIT_SCHEMA`` rows: what scoring turns into reasons and what a
    risk profile can use to force a lane. Only ``agency``'s decisions suppress hits.
    """
    parties = parties_from_frame(declarations)
    if parties.is_empty():
        lrns = declarations["lrn"].unique().to_list()
        parties = party_names_frame(engine, agency=agency, lrns=lrns)
    return screen_parties(
        parties=parties,
        matcher=matcher or build_matcher(session=session),
        suppressed=suppressed_pairs(session=session, agency=agency),
        threshold=threshold,
    )


# ------------------------------------------------------------------- hits of arriving declarations, reviewed

HIT_STATUSES = ("open", "confirmed", "dismissed")


def cached_matcher(*, session: Session, cache: Cache) -> Matcher:
    """The matcher over the active list versions, from ``cache``; rebuilt when a list is (re)loaded."""
    versions = tuple(v.id for v in list_versions(session=session, active_only=True))

    def build() -> Matcher:
        # A builder holds the cache's lock: flushing the caller's pending rows here would wait for SQLite's
        # write lock, which another request may hold while it waits for the cache.
        with session.no_autoflush:
            return build_matcher(session=session)

    built: Matcher = cache.get(("matcher", versions), build)
    return built


def store_hits(*, session: Session, agency: str, hits: pl.DataFrame) -> int:
    """Keep ``hits`` (``HIT_SCHEMA``) of arriving declarations for review; a declaration screened again
    (amended, re-run) replaces its open hits, and keeps those an analyst already decided."""
    if hits.height == 0:
        return 0
    lrns = hits["lrn"].unique().to_list()
    decided = {
        (lrn, role, entity_id)
        for lrn, role, entity_id in session.execute(
            select(ScreeningHitRow.lrn, ScreeningHitRow.role, ScreeningHitRow.entity_id).where(
                ScreeningHitRow.agency == agency,
                ScreeningHitRow.lrn.in_(lrns),
                ScreeningHitRow.status != "open",
            )
        )
    }
    session.execute(
        delete(ScreeningHitRow).where(
            ScreeningHitRow.agency == agency, ScreeningHitRow.lrn.in_(lrns), ScreeningHitRow.status == "open"
        )
    )
    rows = [
        {
            "agency": agency,
            "lrn": hit["lrn"],
            "role": hit["role"],
            "party_id": hit["party_id"],
            "party_name": hit["party_name"],
            "entity_id": hit["entity_id"],
            "list_name": hit["list"],
            "matched_name": hit["name"],
            "score": float(hit["score"]),
            "explanation": hit["explanation"],
            "status": "open",
        }
        for hit in hits.iter_rows(named=True)
        if (hit["lrn"], hit["role"], hit["entity_id"]) not in decided
    ]
    if rows:
        session.execute(insert(ScreeningHitRow), rows)
    return len(rows)


def list_hits(
    *,
    session: Session,
    agency: str,
    status: str | None = "open",
    lrns: Sequence[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ScreeningHitRow], int]:
    """``agency``'s stored hits (the review queue: ``status='open'``), strongest first, and their count."""
    query = select(ScreeningHitRow).where(ScreeningHitRow.agency == agency)
    if status is not None:
        query = query.where(ScreeningHitRow.status == status)
    if lrns is not None:
        query = query.where(ScreeningHitRow.lrn.in_(list(lrns)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(ScreeningHitRow.score.desc(), ScreeningHitRow.id).limit(limit).offset(offset)
    )
    return list(rows), int(total)


def party_hits(*, session: Session, agency: str, party_ids: Sequence[str]) -> dict[tuple[str, str], str]:
    """The strongest stored hit of each of ``agency``'s parties that an analyst has not dismissed, keyed by
    (role, party id), as a short text for the network graph ("OFAC-SDN: NAME 0.97, open")."""
    if not party_ids:
        return {}
    rows = session.scalars(
        select(ScreeningHitRow)
        .where(
            ScreeningHitRow.agency == agency,
            ScreeningHitRow.party_id.in_(list(party_ids)),
            ScreeningHitRow.status != "dismissed",
        )
        .order_by(ScreeningHitRow.score.desc(), ScreeningHitRow.id)
    )
    found: dict[tuple[str, str], str] = {}
    for row in rows:
        key = (row.role, row.party_id or "")
        if key not in found:
            found[key] = f"{row.list_name}: {row.matched_name} {row.score:.2f}, {row.status}"
    return found


def review_hit(
    *, session: Session, agency: str, hit_id: int, verdict: str, analyst: str, note: str | None = None
) -> ScreeningHitRow:
    """An analyst's verdict on a stored hit: ``confirmed`` (a true match) or ``dismissed`` (not the listed
    party). The verdict is also remembered as a screening decision: a dismissed pair is not raised again in
    ``agency``'s later screenings. ``NotFoundError`` for a hit of another agency; ``ValueError`` for a
    verdict other than those two or a hit already decided."""
    if verdict not in ("confirmed", "dismissed"):
        raise ValueError(f"verdict must be 'confirmed' or 'dismissed', not {verdict!r}")
    row = session.get(ScreeningHitRow, hit_id)
    if row is None or row.agency != agency:
        raise NotFoundError(f"no screening hit {hit_id}")
    decided = session.connection().execute(
        update(ScreeningHitRow)
        .where(ScreeningHitRow.id == hit_id, ScreeningHitRow.status == "open")
        .values(status=verdict, decided_by=analyst, decided_at=datetime.now(UTC), note=note)
    )
    if decided.rowcount != 1:
        raise ValueError(f"screening hit {hit_id} was already decided")
    session.refresh(row)
    record_decision(
        session=session,
        agency=agency,
        query_name=row.party_name,
        entity_id=row.entity_id,
        decision=MATCH if verdict == "confirmed" else NOT_MATCH,
        analyst=analyst,
        note=note,
        party_id=row.party_id,
        score=row.score,
    )
    return row
