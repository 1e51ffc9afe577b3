"""What the message mappings share: a message walked segment by segment, each value remembered with where
it came from, so a value the canonical model refuses is reported at its segment, element and component.

Code lists are the UN/EDIFACT directory's (UNCL), cut to the codes a customs message of these types uses:
a qualifier outside them changes the meaning of its segment, so it is refused, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from pydantic import ValidationError

from borderwatch.ingest.edifact.syntax import EdifactError, Message, Segment
from borderwatch.ingest.schemas import reason_of

# UNCL 2379 date/time/period format codes this reader understands, with their strptime layouts.
DATE_FORMATS = {"102": "%Y%m%d", "203": "%Y%m%d%H%M", "204": "%Y%m%d%H%M%S", "101": "%y%m%d"}


@dataclass(frozen=True)
class Origin:
    """Where a value came from: a segment of a message, one of its elements and components."""

    segment: Segment
    element: int
    component: int = 1


@dataclass
class Walk:
    """A message being mapped: the errors it raises name the message and the segment's place in it."""

    message: Message
    origins: dict[str, Origin] = field(default_factory=dict)

    def fail(
        self, segment: Segment, reason: str, element: int | None = None, component: int | None = None
    ) -> EdifactError:
        return self.message.fail(segment, reason, element, component)

    def take(self, key: str, segment: Segment, element: int, component: int = 1) -> str:
        """The value at ``element``/``component`` of ``segment``, remembered as the origin of ``key``."""
        self.origins[key] = Origin(segment, element, component)
        return segment.value(element, component)

    def qualifier(self, segment: Segment, known: frozenset[str], what: str, element: int = 1) -> str:
        """Element ``element``'s first component, which must be one of ``known`` (a directory code list)."""
        code = segment.value(element)
        if code not in known:
            shown = repr(code) if code else "nothing"
            raise self.fail(
                segment,
                f"{shown} is not a {what} this reader knows (expected one of {', '.join(sorted(known))})",
                element,
                1,
            )
        return code

    def number(self, key: str, segment: Segment, element: int, component: int) -> float | None:
        text = self.take(key, segment, element, component).strip()
        if not text:
            return None
        decimal = self.message.separators.decimal
        try:
            return float(text.replace(decimal, ".") if decimal != "." else text)
        except ValueError:
            raise self.fail(segment, f"'{text}' is not a number", element, component) from None

    def date(self, key: str, segment: Segment) -> date:
        """A ``DTM`` segment's date (C507: qualifier, value, format)."""
        value, fmt = self.take(key, segment, 1, 2), segment.value(1, 3) or "102"
        layout = DATE_FORMATS.get(fmt)
        if layout is None:
            raise self.fail(segment, f"'{fmt}' is not a date format this reader knows (102, 203, 204)", 1, 3)
        if fmt == "102" and len(value) == 8 and value.isascii() and value.isdigit():
            try:  # the common case without strptime (a fifth of the reader's time): the same dates
                return date(int(value[:4]), int(value[4:6]), int(value[6:]))
            except ValueError:
                pass  # strptime decides, and words the error
        try:
            return datetime.strptime(value, layout).date()
        except ValueError:
            raise self.fail(segment, f"'{value}' is not a date in format {fmt}", 1, 2) from None

    def refused(self, error: ValidationError) -> EdifactError:
        """The canonical model's first objection, placed at the segment the value came from."""
        detail = error.errors()[0]
        where, reason = reason_of(detail)
        parts = [str(part) for part in detail["loc"]]
        for size in range(len(parts), 0, -1):
            origin = self.origins.get(".".join(parts[:size]))
            if origin is not None:
                return self.fail(origin.segment, f"{where}: {reason}", origin.element, origin.component)
        return self.fail(self.message.segments[0], f"{where}: {reason}")


def interchange_date(message: Message) -> date | None:
    """The date ``UNB`` says the interchange was prepared (YYMMDD or CCYYMMDD), or None."""
    text = message.interchange.prepared.split(":")[0]
    for layout in ("%y%m%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    return None


def sections(message: Message) -> tuple[list[Segment], list[list[Segment]], list[Segment]]:
    """Header, goods items and summary of a message whose items start with ``start`` between ``UNS+D``
    and ``UNS+S`` (CUSDEC, CUSRES): the item segment groups each start with a ``CST``."""
    header: list[Segment] = []
    items: list[list[Segment]] = []
    summary: list[Segment] = []
    part = "header"
    for segment in message.segments[1:-1]:
        if segment.tag == "UNS":
            part = "items" if segment.value(1) == "D" else "summary"
            continue
        if part == "header":
            header.append(segment)
        elif part == "summary":
            summary.append(segment)
        elif segment.tag == "CST" or not items:
            items.append([segment])
        else:
            items[-1].append(segment)
    return header, items, summary
