"""borderwatch's answers on declarations: the current lane decision and, once inspected, the case's result,
as ``ingest.edifact.cusres.Answer`` records, written as CUSRES messages (``as_cusres``) or JSON."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from borderwatch.ingest.edifact.cusres import Answer, write_cusres
from borderwatch.inspections.models import CaseRow
from borderwatch.lanes.models import LaneDecisionRow


def answers(*, session: Session, agency: str, lrns: Sequence[str]) -> list[Answer]:
    """The answers on ``lrns`` of ``agency`` that have a current lane decision, in the order asked."""
    wanted = list(dict.fromkeys(lrns))
    decisions = {
        row.lrn: row
        for row in session.scalars(
            select(LaneDecisionRow).where(
                LaneDecisionRow.agency == agency,
                LaneDecisionRow.is_current.is_(True),
                LaneDecisionRow.lrn.in_(wanted),
            )
        )
    }
    cases: dict[str, CaseRow] = {}
    for case in session.scalars(
        select(CaseRow)
        .where(CaseRow.agency == agency, CaseRow.lrn.in_(wanted))
        .options(selectinload(CaseRow.findings))
        .order_by(CaseRow.id)
    ):
        cases[case.lrn] = case  # the latest case of each declaration
    out: list[Answer] = []
    for lrn in wanted:
        decision = decisions.get(lrn)
        if decision is None:
            continue
        opened = cases.get(lrn)
        finding = opened.findings[-1] if opened is not None and opened.findings else None
        decided = decision.decided_at
        out.append(
            Answer(
                lrn=lrn,
                decided_at=decided if decided.tzinfo else decided.replace(tzinfo=UTC),
                lane=decision.lane,
                basis=decision.basis,
                reasons=[str(reason) for reason in decision.reasons or []],
                case_status=opened.status if opened is not None else None,
                case_result=finding.result if finding is not None else None,
                duty_recovered=finding.duty_recovered if finding is not None else None,
            )
        )
    return out


def as_cusres(found: Sequence[Answer], *, sender: str, recipient: str, at: datetime) -> tuple[str, str]:
    """``found`` as one interchange of CUSRES messages from ``sender`` to ``recipient`` (each cut to the 35
    characters UNB allows), prepared ``at``, and the charset its syntax level names: latin-1 for UNOC,
    utf-8 for UNOY (a reason in a script Latin-1 lacks)."""
    text = write_cusres(
        found,
        sender=sender[:35],
        recipient=recipient[:35],
        reference=at.strftime("%y%m%d%H%M%S"),
        prepared_at=at,
    )
    return text, "utf-8" if "UNOY" in text[:64] else "latin-1"
