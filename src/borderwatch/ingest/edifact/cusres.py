"""CUSRES (customs response) out and back: borderwatch's answer on a declaration, as a trader's or port
community system receives a customs system's.

One message per answer, after the UN/EDIFACT CUSRES segment table (D.96B):

| segment | what |
|---|---|
| BGM+962 | document number: the declaration's LRN (962 = customs response) |
| DTM+9 | when it was decided (format 204, CCYYMMDDHHMMSS, UTC) |
| RFF+ABO | the LRN the answer is for (as the shared sample does) |
| GIS | the lane, code list ``BWL``: ``R``, ``Y``, ``G`` |
| GIS | once inspected, code list ``BWC``: the result (``NF``, ``IR``, ``SZ``) or the case's status |
| FTX+AHN | why: the lane's basis |
| FTX+ACB | the reasons, one a segment (each at most 512 characters, as element 4440 allows) |
| MOA+161 | duty recovered by the inspection, when there is one |

``read_cusres`` reads such a message back into the same ``Answer``: a round trip the tests hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from borderwatch.ingest.edifact.syntax import EdifactError, Message, Separators, render

LANE_CODES = {"red": "R", "yellow": "Y", "green": "G"}
RESULT_CODES = {"no_finding": "NF", "irregularity": "IR", "seizure": "SZ"}
STATUS_CODES = {"open": "OP", "assigned": "AS", "closed": "CL"}
TEXT_LIMIT = 512  # element 4440 is an..512
_LANES = {code: lane for lane, code in LANE_CODES.items()}
_RESULTS = {code: result for result, code in {**STATUS_CODES, **RESULT_CODES}.items()}


class Answer(BaseModel):
    """borderwatch's answer on one declaration: its lane and, once inspected, the case's result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lrn: str = Field(min_length=1, max_length=64)
    decided_at: datetime
    lane: str
    basis: str
    reasons: list[str] = Field(default_factory=list)
    case_status: str | None = None  # open, assigned, closed
    case_result: str | None = None  # no_finding, irregularity, seizure (when closed)
    duty_recovered: float | None = None


def _text(value: str) -> str:
    """Free text as one segment holds it: no line breaks, at most ``TEXT_LIMIT`` characters."""
    return " ".join(value.split())[:TEXT_LIMIT]


def _stamp(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y%m%d%H%M%S") if moment.tzinfo else moment.strftime("%Y%m%d%H%M%S")
    )


def _message(answer: Answer, reference: str, separators: Separators) -> list[str]:
    segments = [
        render("UNH", [[reference], ["CUSRES", "D", "96B", "UN"]], separators),
        render("BGM", [["962"], [answer.lrn], ["9"]], separators),
        render("DTM", [["9", _stamp(answer.decided_at), "204"]], separators),
        render("RFF", [["ABO", answer.lrn]], separators),
        render("GIS", [[LANE_CODES[answer.lane], "BWL", "ZZZ"]], separators),
    ]
    outcome = RESULT_CODES.get(answer.case_result or "") or STATUS_CODES.get(answer.case_status or "")
    if outcome:
        segments.append(render("GIS", [[outcome, "BWC", "ZZZ"]], separators))
    segments.append(render("FTX", [["AHN"], [], [], [_text(answer.basis)]], separators))
    segments.extend(render("FTX", [["ACB"], [], [], [_text(r)]], separators) for r in answer.reasons)
    if answer.duty_recovered is not None:
        segments.append(render("MOA", [["161", f"{answer.duty_recovered:.2f}"]], separators))
    segments.append(render("UNT", [[str(len(segments) + 1)], [reference]], separators))
    return segments


def write_cusres(
    answers: Sequence[Answer], *, sender: str, recipient: str, reference: str, prepared_at: datetime
) -> str:
    """An interchange of one CUSRES message per answer, a segment a line: syntax UNOC (Latin-1), or UNOY
    (UTF-8) when a reason holds a character Latin-1 lacks (a name in another script)."""
    separators = Separators()
    texts = [a.basis for a in answers] + [r for a in answers for r in a.reasons]
    syntax = "UNOC" if all(t.isascii() or _latin1(t) for t in texts) else "UNOY"
    moment = prepared_at.astimezone(UTC) if prepared_at.tzinfo else prepared_at
    lines = [
        "UNA:+.? '",
        render(
            "UNB",
            [
                [syntax, "3" if syntax == "UNOC" else "4"],
                [sender, "ZZZ"],
                [recipient, "ZZZ"],
                [moment.strftime("%y%m%d"), moment.strftime("%H%M")],
                [reference],
            ],
            separators,
        ),
    ]
    for number, answer in enumerate(answers, start=1):
        lines.extend(_message(answer, f"{reference[:10]}{number:04d}", separators))
    lines.append(render("UNZ", [[str(len(answers))], [reference]], separators))
    return "\n".join(lines) + "\n"


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def read_cusres(message: Message) -> Answer:
    """The answer a CUSRES message of ``write_cusres`` carries; raises ``EdifactError`` naming the segment."""
    data: dict[str, object] = {"reasons": []}
    reasons: list[str] = []
    for segment in message.segments[1:-1]:
        tag, qualifier = segment.tag, segment.value(1)
        if tag == "BGM":
            data["lrn"] = segment.value(2)
        elif tag == "DTM" and qualifier == "9":
            try:
                data["decided_at"] = datetime.strptime(segment.value(1, 2), "%Y%m%d%H%M%S").replace(
                    tzinfo=UTC
                )
            except ValueError:
                raise message.fail(
                    segment, f"'{segment.value(1, 2)}' is not a date in format 204", 1, 2
                ) from None
        elif tag == "GIS" and segment.value(1, 2) == "BWL":
            if qualifier not in _LANES:
                raise message.fail(segment, f"'{qualifier}' is not a lane code (R, Y, G)", 1, 1)
            data["lane"] = _LANES[qualifier]
        elif tag == "GIS" and segment.value(1, 2) == "BWC":
            if qualifier not in _RESULTS:
                raise message.fail(segment, f"'{qualifier}' is not a case code", 1, 1)
            name = _RESULTS[qualifier]
            data["case_status" if qualifier in STATUS_CODES.values() else "case_result"] = name
            if name in RESULT_CODES:
                data["case_status"] = "closed"
        elif tag == "FTX" and qualifier == "AHN":
            data["basis"] = segment.value(4)
        elif tag == "FTX" and qualifier == "ACB":
            reasons.append(segment.value(4))
        elif tag == "MOA" and qualifier == "161":
            try:
                data["duty_recovered"] = float(segment.value(1, 2))
            except ValueError:
                raise message.fail(segment, f"'{segment.value(1, 2)}' is not a number", 1, 2) from None
    data["reasons"] = reasons
    missing = [name for name in ("lrn", "decided_at", "lane", "basis") if name not in data]
    if missing:
        raise EdifactError(message=message.reference, reason=f"the response lacks {', '.join(missing)}")
    return Answer.model_validate(data)
