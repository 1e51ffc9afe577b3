"""Lane decisions as stored records, the AEO registry, and supervisor overrides.

``assign_lanes`` is the one call the rest of borderwatch (the demo, the web workspace, the replay simulation's
``borderwatch`` strategy through :func:`borderwatch.lanes.engine.assign_lanes_frame`) uses to turn scores into
lanes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Final

import polars as pl
from sqlalchemy import Text, cast, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from borderwatch.core.cache import Cache
from borderwatch.core.errors import BorderwatchError, NotFoundError
from borderwatch.core.reasons import codes_to_json
from borderwatch.core.vocabulary import BASIS_MANDATORY, BASIS_OVERRIDE, LANES
from borderwatch.db.session import lock_keys
from borderwatch.lanes.engine import (
    CALIBRATION_COLUMNS,
    Thresholds,
    assign_lanes_at_arrival,
    assign_lanes_frame,
    calibrate_thresholds,
    mark_aeo,
)
from borderwatch.lanes.models import AeoCertificateRow, LaneDecisionRow
from borderwatch.lanes.policy import LanePolicy


class LaneError(BorderwatchError):
    """A lane request that cannot be honoured (unknown lane, missing reason, ...)."""


class LaneChangedError(LaneError):
    """The decision a request was about was superseded by another request meanwhile."""


AEO_SCHEMA: dict[str, pl.DataType] = {
    "trader_id": pl.String(),
    "valid_from": pl.Date(),
    "valid_to": pl.Date(),
}


def add_aeo(
    *,
    session: Session,
    trader_id: str,
    valid_from: date,
    valid_to: date | None = None,
    certificate_no: str | None = None,
    agency: str = "default",
) -> AeoCertificateRow:
    """Registers an AEO certificate; it counts for declarations dated within [valid_from, valid_to]."""
    if valid_to is not None and valid_to < valid_from:
        raise LaneError(f"AEO certificate for {trader_id} ends ({valid_to}) before it starts ({valid_from})")
    row = AeoCertificateRow(
        agency=agency,
        trader_id=trader_id,
        certificate_no=certificate_no,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    session.add(row)
    session.flush()
    return row


def list_aeo(
    *, session: Session, agency: str = "default", valid_on: date | None = None
) -> list[AeoCertificateRow]:
    query = select(AeoCertificateRow).where(AeoCertificateRow.agency == agency)
    if valid_on is not None:
        query = query.where(AeoCertificateRow.valid_from <= valid_on).where(
            (AeoCertificateRow.valid_to.is_(None)) | (AeoCertificateRow.valid_to >= valid_on)
        )
    return list(session.scalars(query.order_by(AeoCertificateRow.trader_id, AeoCertificateRow.valid_from)))


def aeo_frame(*, session: Session, agency: str = "default") -> pl.DataFrame:
    """The registry as the frame :func:`assign_lanes_frame` takes (trader_id, valid_from, valid_to)."""
    rows = list_aeo(session=session, agency=agency)
    return pl.DataFrame(
        {
            "trader_id": [r.trader_id for r in rows],
            "valid_from": [r.valid_from for r in rows],
            "valid_to": [r.valid_to for r in rows],
        },
        schema=AEO_SCHEMA,
    )


def assign_lanes(
    *,
    session: Session,
    scored: pl.DataFrame,
    policy: LanePolicy | None = None,
    model_version: str | None = None,
    agency: str = "default",
) -> pl.DataFrame:
    """Decides and stores a lane for every scored declaration; returns the decisions (engine schema + id).

    ``scored`` is the output of ``RiskModel.score`` joined with each declaration's declared_on, office and
    importer_id (pass the declarations frame's columns). A new decision for an LRN supersedes the old one.
    It is :func:`decide_lanes` then :func:`store_decisions` in the session's transaction.

    Two assignments of the same declarations at once (a double click, two supervisors, the CLI beside the web)
    run one after the other: the later waits until the earlier has committed (the session's transaction holds
    SQLite's write lock, or PostgreSQL's advisory locks on the LRNs, until it ends), then supersedes its
    decisions, as if it had been started afterwards. Each declaration keeps one current decision.
    """
    policy = policy or LanePolicy()
    decisions = decide_lanes(session=session, scored=scored, policy=policy, agency=agency)
    return store_decisions(
        session=session, decisions=decisions, policy=policy, model_version=model_version, agency=agency
    )


def decide_lanes(
    *, session: Session, scored: pl.DataFrame, policy: LanePolicy, agency: str = "default"
) -> pl.DataFrame:
    """The lanes of ``scored`` (capacities and control samples apply to the whole frame); stores nothing."""
    return assign_lanes_frame(scored, policy=policy, aeo=aeo_frame(session=session, agency=agency))


def store_decisions(
    *,
    session: Session,
    decisions: pl.DataFrame,
    policy: LanePolicy,
    model_version: str | None = None,
    agency: str = "default",
) -> pl.DataFrame:
    """Store ``decisions`` (from :func:`decide_lanes`, whole or a slice), each superseding its LRN's current
    decision; returns them with their ``decision_id``. Holds the write lock (SQLite) or the LRNs' locks
    (PostgreSQL) until the session's transaction ends, so a caller storing many commits slice by slice."""
    lrns = decisions["lrn"].to_list()
    # Reading the current decisions and superseding them later would let a concurrent assignment commit its
    # own in between, and both would stay current. On PostgreSQL the locks order the two (READ COMMITTED: the
    # later then reads what the earlier committed); on SQLite the UPDATE, this transaction's first write
    # unless it holds the write lock already, waits for that lock and only then reads which rows are current.
    lock_keys(session.connection(), lrns, scope="lane_decisions")
    previous: dict[str, int] = {}
    for start in range(0, len(lrns), 1000):
        chunk = lrns[start : start + 1000]
        superseded = session.execute(
            update(LaneDecisionRow)
            .where(
                LaneDecisionRow.agency == agency, LaneDecisionRow.lrn.in_(chunk), LaneDecisionRow.is_current
            )
            .values(is_current=False)
            .returning(LaneDecisionRow.lrn, LaneDecisionRow.id)
        )
        previous.update((lrn, decision_id) for lrn, decision_id in superseded)
    rows: list[LaneDecisionRow] = []
    for record in decisions.iter_rows(named=True):
        old_id = previous.get(record["lrn"])
        rows.append(
            LaneDecisionRow(
                lrn=record["lrn"],
                agency=agency,
                declared_on=record["declared_on"],
                office=record["office"],
                lane=record["lane"],
                basis=record["basis"],
                score=record["score"],
                fraud_probability=record["fraud_probability"],
                expected_duty=record["expected_duty"],
                reasons=list(record["reasons"] or []),
                reason_codes=codes_to_json(record.get("reason_codes")),
                control=record["control"],
                aeo=record["aeo"],
                selection_probability=record["selection_probability"],
                policy_version=policy.version,
                model_version=model_version,
                supersedes_id=old_id,
            )
        )
    session.add_all(rows)
    session.flush()
    return decisions.with_columns(pl.Series("decision_id", [r.id for r in rows], dtype=pl.Int64))


def current_decision(*, session: Session, lrn: str, agency: str) -> LaneDecisionRow:
    """The current decision on ``agency``'s declaration ``lrn`` (an LRN is unique within an agency only)."""
    row = session.scalars(
        select(LaneDecisionRow).where(
            LaneDecisionRow.agency == agency, LaneDecisionRow.lrn == lrn, LaneDecisionRow.is_current
        )
    ).first()
    if row is None:
        raise NotFoundError(f"no lane decision for declaration {lrn}")
    return row


# What an override keeps of the decision it supersedes: all but the lane, its basis and who decided why.
_CARRIED_BY_OVERRIDE = (
    "lrn",
    "agency",
    "declared_on",
    "office",
    "score",
    "fraud_probability",
    "expected_duty",
    "reasons",
    "reason_codes",
    "control",
    "aeo",
    "selection_probability",
    "policy_version",
    "model_version",
)


def override_lane(
    *, session: Session, lrn: str, agency: str, lane: str, reason: str, supervisor: str
) -> LaneDecisionRow:
    """A supervisor's lane for ``agency``'s declaration ``lrn``, with the reason; the earlier decision is
    kept, marked superseded.

    An override and an assignment of the same declaration at once (or two overrides) run one after the other
    on PostgreSQL: the later waits until the earlier has committed, then supersedes its decision. On SQLite an
    override whose decision was superseded after it read it raises ``LaneChangedError`` instead."""
    if lane not in LANES:
        raise LaneError(f"unknown lane {lane!r}; use one of {', '.join(LANES)}")
    if not reason.strip():
        raise LaneError("an override needs a reason")
    # An uncommitted override's new decision is invisible to a concurrent assign_lanes, whose UPDATE would
    # then supersede nothing and insert a second current decision: take the LRN's lock that assign_lanes
    # takes (PostgreSQL; a no-op on SQLite), before reading, so that each reads what the other committed.
    lock_keys(session.connection(), [lrn], scope="lane_decisions")
    old = current_decision(session=session, lrn=lrn, agency=agency)
    # Another override may have superseded ``old`` since it was read (on SQLite, which reads outside the write
    # lock): superseding it too would leave two current decisions. The UPDATE decides on is_current as it
    # writes (SQLite's waits for the write lock).
    superseded = session.connection().execute(
        update(LaneDecisionRow)
        .where(LaneDecisionRow.id == old.id, LaneDecisionRow.is_current)
        .values(is_current=False)
    )
    if superseded.rowcount != 1:
        raise LaneChangedError(f"the lane of declaration {lrn} was changed meanwhile; look at it again")
    set_committed_value(old, "is_current", False)  # as the row now is, without writing it again
    row = LaneDecisionRow(
        **{name: getattr(old, name) for name in _CARRIED_BY_OVERRIDE},
        lane=lane,
        basis=BASIS_OVERRIDE,
        supersedes_id=old.id,
        override_reason=reason,
        decided_by=supervisor,
    )
    session.add(row)
    session.flush()
    return row


# A decision's reason codes as ``decisions_frame`` reads them: id and family (what stages group by); their
# figures, which differ by family, stay in the stored JSON.
STORED_CODES: Final = pl.List(pl.Struct({"id": pl.String(), "family": pl.String()}))


def _decoded(name: str, dtype: pl.DataType) -> pl.Expr:
    """A JSON column read as text, decoded to ``dtype`` (SQL NULL and JSON null as an empty list)."""
    return (
        pl.when(pl.col(name).is_null() | (pl.col(name) == "null"))
        .then(pl.lit("[]"))
        .otherwise(pl.col(name))
        .cast(pl.String)
        .str.json_decode(dtype)
        .alias(name)
    )


def decisions_frame(*, session: Session, agency: str = "default", current_only: bool = True) -> pl.DataFrame:
    """Stored decisions as a frame (for monitoring and retraining weights), with their reasons and the
    reasons' codes (id and family: :data:`STORED_CODES`)."""
    # Plain rows (no ORM objects) and the reasons decoded by Polars in one pass: built row by row as ORM
    # objects and nested Python lists, 36,000 decisions took 13 s of the dashboard's 15 (loaded machine).
    columns = [
        LaneDecisionRow.id,
        LaneDecisionRow.lrn,
        LaneDecisionRow.declared_on,
        LaneDecisionRow.office,
        LaneDecisionRow.lane,
        LaneDecisionRow.basis,
        LaneDecisionRow.score,
        LaneDecisionRow.fraud_probability,
        LaneDecisionRow.control,
        LaneDecisionRow.aeo,
        LaneDecisionRow.selection_probability,
        cast(LaneDecisionRow.reasons, Text),
        cast(LaneDecisionRow.reason_codes, Text),
        LaneDecisionRow.policy_version,
        LaneDecisionRow.model_version,
    ]
    query = select(*columns).where(LaneDecisionRow.agency == agency)
    if current_only:
        query = query.where(LaneDecisionRow.is_current)
    rows = session.execute(query.order_by(LaneDecisionRow.id)).all()
    names = [
        "decision_id",
        "lrn",
        "declared_on",
        "office",
        "lane",
        "basis",
        "score",
        "fraud_probability",
        "control",
        "aeo",
        "selection_probability",
        "reasons",
        "reason_codes",
        "policy_version",
        "model_version",
    ]
    text = pl.DataFrame(
        [tuple(row) for row in rows], schema=names, orient="row", infer_schema_length=None
    ).with_columns(
        _decoded("reasons", pl.List(pl.String())),
        _decoded("reason_codes", STORED_CODES),
    )
    return pl.DataFrame(
        {name: text[name] if rows else [] for name in names},
        schema={
            "decision_id": pl.Int64(),
            "lrn": pl.String(),
            "declared_on": pl.Date(),
            "office": pl.String(),
            "lane": pl.String(),
            "basis": pl.String(),
            "score": pl.Float64(),
            "fraud_probability": pl.Float64(),
            "control": pl.Boolean(),
            "aeo": pl.Boolean(),
            "selection_probability": pl.Float64(),
            "reasons": pl.List(pl.String()),
            "reason_codes": STORED_CODES,
            "policy_version": pl.String(),
            "model_version": pl.String(),
        },
    )


def calibration_sample(
    *, session: Session, agency: str, until: date, days: int, model_version: str | None
) -> pl.DataFrame:
    """The current decisions of ``agency``'s declarations dated in the ``days`` days up to ``until``, as
    the frame :func:`borderwatch.lanes.engine.calibrate_thresholds` takes: those scored by
    ``model_version`` (a model's scores are on its own scale). A lane forced by a risk profile is kept as
    ``forced_lane``; supervisors' overrides are counted with the lane the policy gave."""
    since = until - timedelta(days=days - 1)
    query = select(
        LaneDecisionRow.lrn,
        LaneDecisionRow.declared_on,
        LaneDecisionRow.office,
        LaneDecisionRow.score,
        LaneDecisionRow.fraud_probability,
        LaneDecisionRow.expected_duty,
        LaneDecisionRow.aeo,
        LaneDecisionRow.lane,
        LaneDecisionRow.basis,
    ).where(
        LaneDecisionRow.agency == agency,
        LaneDecisionRow.is_current,
        LaneDecisionRow.declared_on >= since,
        LaneDecisionRow.declared_on <= until,
        LaneDecisionRow.basis != BASIS_OVERRIDE,
    )
    query = query.where(
        LaneDecisionRow.model_version.is_(None)
        if model_version is None
        else LaneDecisionRow.model_version == model_version
    )
    rows = session.execute(query).all()
    frame = pl.DataFrame(
        [tuple(row) for row in rows],
        schema={
            "lrn": pl.String(),
            "declared_on": pl.Date(),
            "office": pl.String(),
            "score": pl.Float64(),
            "fraud_probability": pl.Float64(),
            "expected_duty": pl.Float64(),
            "aeo": pl.Boolean(),
            "lane": pl.String(),
            "basis": pl.String(),
        },
        orient="row",
    )
    return frame.with_columns(
        pl.when(pl.col("basis") == BASIS_MANDATORY).then(pl.col("lane")).otherwise(None).alias("forced_lane")
    ).drop("lane", "basis")


THRESHOLDS_TTL_SECONDS = 60.0
"""How long thresholds calibrated on a large recent sample are reused: one arrival barely moves them, and
calibrating hashes every recent LRN (about a second for 140,000 on a loaded machine)."""
LARGE_SAMPLE = 2000


def decide_at_arrival(
    *,
    session: Session,
    scored: pl.DataFrame,
    policy: LanePolicy,
    agency: str,
    model_version: str | None,
    cache: Cache | None = None,
) -> tuple[pl.DataFrame, Thresholds]:
    """The lanes of arriving declarations (``scored`` as :func:`assign_lanes` takes it), each decided on
    its own against thresholds calibrated on the agency's recent days and these arrivals (so that the
    expected share of red and yellow matches the policy's capacity shares); stores nothing.

    With ``cache``, thresholds calibrated on at least ``LARGE_SAMPLE`` recent decisions are reused for
    ``THRESHOLDS_TTL_SECONDS`` by the arrivals of the same day, model and policy."""
    last = scored["declared_on"].max()
    assert isinstance(last, date)
    aeo = aeo_frame(session=session, agency=agency)
    arriving = scored.select(
        pl.col(name) for name in (*CALIBRATION_COLUMNS, "score", "expected_duty", "forced_lane")
    ).with_columns(mark_aeo(scored.select("lrn", "declared_on", "importer_id"), aeo).alias("aeo"))

    def calibrated() -> Thresholds:
        with session.no_autoflush:
            recent = calibration_sample(
                session=session,
                agency=agency,
                until=last,
                days=policy.calibration_days,
                model_version=model_version,
            )
        sample = pl.concat(
            [recent.join(arriving.select("lrn"), on="lrn", how="anti"), arriving], how="diagonal_relaxed"
        )
        return calibrate_thresholds(sample, policy=policy)

    key = ("lane-thresholds", agency, last, model_version, policy.model_dump_json())
    thresholds: Thresholds | None = cache.peek(key) if cache is not None else None
    if thresholds is None:
        thresholds = calibrated()
        if cache is not None and thresholds.sample >= LARGE_SAMPLE:
            cache.put(key, thresholds, ttl=THRESHOLDS_TTL_SECONDS)
    return assign_lanes_at_arrival(scored, policy=policy, thresholds=thresholds, aeo=aeo), thresholds


def follow_score_reasons(
    *,
    session: Session,
    lrn: str,
    agency: str,
    reasons: list[str],
    reason_codes: Sequence[str],
    model_version: str,
) -> bool:
    """The current decision of ``lrn`` takes ``reasons`` and their codes (as a frame row holds them), the
    completed reasons of the score it was decided on (``model_version``: a score's model reasons may be left
    to its first read); whether it changed."""
    row = session.scalars(
        select(LaneDecisionRow).where(
            LaneDecisionRow.lrn == lrn,
            LaneDecisionRow.agency == agency,
            LaneDecisionRow.is_current,
            LaneDecisionRow.model_version == model_version,
        )
    ).first()
    if row is None or list(row.reasons or []) == reasons:
        return False
    row.reasons = list(reasons)
    row.reason_codes = codes_to_json(reason_codes)
    return True
