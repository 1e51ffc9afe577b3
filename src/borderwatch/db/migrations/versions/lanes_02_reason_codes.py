"""lanes: reason codes beside the reason sentences of lane decisions (issue #12, item 2)

Each decision keeps, one per reason and in the same order, the reason's stable id, family and figures
(``core.reasons``): monitoring counts risk profiles by id, so renaming one keeps its statistics. Decisions
stored before get codes derived from their sentences (a risk profile's id from "risk profile ID (name):
..."; sentences that name no id become family "legacy").

Revision ID: lanes_02_reason_codes
Revises: lanes_01_agency_keys
Create Date: 2026-12-03 18:30:00
"""

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "lanes_02_reason_codes"
down_revision: str | Sequence[str] | None = "lanes_01_agency_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Self-contained (a landed migration must not change with the code): the sentences stored so far, as scoring
# wrote them, and the codes they stand for.
_PROFILE = re.compile(r"^risk profile (?P<id>.+?)(?: \((?P<name>.*)\): (?P<effect>.*)| hit)$")
_POINTS = re.compile(r"(?P<points>[+-]\d+(?:\.\d+)?) points")
_LANE = re.compile(r"lane (?P<lane>red|yellow|green)")
_PREFIXES = (
    ("screening: ", "SCREENING-HIT", "screening"),
    ("revenue at risk: ", "REVENUE-AT-RISK", "revenue"),
    ("goods item ", "ITEM-RISKIEST", "item"),
    ("no active model: ", "NO-MODEL", "no_model"),
)
_BATCH = 1000


def _code(sentence: object) -> dict[str, Any]:
    text = str(sentence)
    found = _PROFILE.match(text)
    if found:
        effect = found["effect"] or ""
        figures: dict[str, Any] = {}
        if points := _POINTS.search(effect):
            figures["points"] = float(points["points"])
        if lane := _LANE.search(effect):
            figures["lane"] = lane["lane"]
        return {"id": found["id"], "family": "profile", "figures": figures}
    for prefix, reason_id, family in _PREFIXES:
        if text.startswith(prefix):
            return {"id": reason_id, "family": family, "figures": {}}
    return {"id": "LEGACY", "family": "legacy", "figures": {}}


def _backfill(table_name: str) -> None:
    """Codes for the rows stored without them, derived from their sentences, in batches by id."""
    bind = op.get_bind()
    table = sa.table(
        table_name,
        sa.column("id", sa.Integer),
        sa.column("reasons", sa.JSON),
        sa.column("reason_codes", sa.JSON),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c.reasons)
            .where(table.c.id > last, table.c.reason_codes.is_(None))
            .order_by(table.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values(reason_codes=sa.bindparam("codes")),
            [{"row_id": row_id, "codes": [_code(s) for s in reasons or []]} for row_id, reasons in rows],
        )
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("lane_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_codes", sa.JSON(), nullable=True))
    _backfill("lane_decisions")


def downgrade() -> None:
    with op.batch_alter_table("lane_decisions", schema=None) as batch_op:
        batch_op.drop_column("reason_codes")
