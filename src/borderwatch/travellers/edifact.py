"""UN/EDIFACT interchanges as they arrive from carriers: transport wrapping removed, split into messages.

Airline API messages come through Type B / e-mail gateways: a transport header before ``UNA``/``UNB``
(addresses, ``SOH``/``STX``), lines hard-wrapped at a fixed width in the middle of segments, and an ``ETX``,
a footer or a disclaimer after ``UNZ``. :func:`clean_interchange` keeps the interchange alone. Tokenising
(separators from the ``UNA`` service string advice, the release character) is pydifact's ``Tokenizer``; the
envelope (``UNB``/``UNZ``, functional groups ``UNG``/``UNE``, messages ``UNH``/``UNT``) and its counts and
references are checked here, from ISO 9735.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydifact.control.characters import Characters
from pydifact.exceptions import EDISyntaxError
from pydifact.token import Token
from pydifact.tokenizer import Tokenizer

from borderwatch.core.errors import IngestError

_TRANSPORT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# ISO 9735 level A/B defaults (no UNA): component ':', element '+', decimal '.', release '?', segment "'".
DEFAULT_SERVICE_STRING = ":+.? '"


class EdifactError(IngestError):
    """An interchange or message that cannot be read, naming the message, segment, its position and element.

    ``position`` is the segment's ordinal in its message (``UNH`` is 1), or in the interchange for envelope
    segments; ``element`` is the data element's position in the segment (1-based), when one is at fault.
    """

    def __init__(
        self,
        *,
        reason: str,
        message: str | None = None,
        segment: str | None = None,
        position: int | None = None,
        element: int | None = None,
        component: int | None = None,
    ) -> None:
        self.message = message
        self.segment = segment
        self.position = position
        self.element = element
        self.component = component
        where = []
        if segment:
            where.append(f"segment {segment}" + (f" #{position}" if position is not None else ""))
        if element is not None:
            where.append(f"element {element}" + (f" component {component}" if component else ""))
        super().__init__(
            record=f"message {message}" if message else None,
            field=", ".join(where) or None,
            reason=reason,
        )

    def __str__(self) -> str:
        parts = [f"message {self.message}"] if self.message else []
        if self.segment:
            parts.append(f"segment {self.segment}" + (f" #{self.position}" if self.position else ""))
        elif self.position:
            parts.append(f"segment #{self.position}")
        if self.element is not None:
            parts.append(
                f"element {self.element}" + (f", component {self.component}" if self.component else "")
            )
        return f"{', '.join(parts)}: {self.reason}" if parts else self.reason


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its tag, its data elements (each a list of components), and its ordinal."""

    tag: str
    elements: tuple[tuple[str, ...], ...]
    position: int  # 1-based in the interchange

    def element(self, index: int) -> tuple[str, ...]:
        """Data element ``index`` (1-based, after the tag), empty when absent."""
        return self.elements[index - 1] if 0 < index <= len(self.elements) else ()

    def value(self, index: int, component: int = 1) -> str:
        """Component ``component`` of data element ``index`` (both 1-based), ``""`` when absent."""
        parts = self.element(index)
        return parts[component - 1] if 0 < component <= len(parts) else ""

    def raw(self, characters: Characters) -> str:
        """The segment re-serialised with the interchange's separators and release character."""
        specials = {
            characters.component_separator,
            characters.data_separator,
            characters.segment_terminator,
            characters.escape_character,
        }

        def escape(text: str) -> str:
            return "".join(characters.escape_character + c if c in specials else c for c in text)

        elements = [characters.component_separator.join(escape(c) for c in e) for e in self.elements]
        return characters.data_separator.join([self.tag, *elements]) + characters.segment_terminator


@dataclass
class Message:
    """A message between ``UNH`` and ``UNT`` (both included), with the group it came in."""

    reference: str
    message_type: str
    version: str
    association: str
    segments: list[Segment]
    group_reference: str | None = None
    issues: list[EdifactError] = field(default_factory=list)

    def relative(self, segment: Segment) -> int:
        """The segment's ordinal within this message (``UNH`` = 1), as the ``UNT`` count counts."""
        return segment.position - self.segments[0].position + 1


@dataclass
class Interchange:
    characters: Characters
    sender: str
    recipient: str
    reference: str
    syntax: str
    messages: list[Message]
    issues: list[EdifactError] = field(default_factory=list)

    @property
    def repetition_separator(self) -> str | None:
        """ISO 9735 version 4 repeats data elements with ``*`` unless UNA says otherwise (space: unused)."""
        reserved = self.characters.reserved_character
        if self.syntax.endswith(":4") or self.syntax.split(":")[-1] == "4":
            return reserved if reserved.strip() and reserved != "*" else (None if reserved.strip() else "*")
        return None


def clean_interchange(text: str) -> str:
    """The interchange alone: transport header and footer removed, hard line wrapping undone.

    Level A/B character sets carry no line breaks inside data, so every CR/LF is wrapping (or a separator
    between segments) and goes. Raises ``EdifactError`` when no ``UNA``/``UNB`` starts an interchange.
    """
    flat = _TRANSPORT_CONTROL.sub("", text.replace("\r", "").replace("\n", ""))
    start = _interchange_start(flat)
    if start < 0:
        raise EdifactError(reason="no interchange: neither UNA nor UNB found")
    body = flat[start:]
    characters = _characters_of(body)
    end = _interchange_end(body, characters)
    return body[:end] if end > 0 else body


def _interchange_start(text: str) -> int:
    """Where the interchange starts: a ``UNA`` whose six service characters are followed by ``UNB``, or a
    ``UNB`` followed by a separator and a syntax identifier (``UNOA``...), not letters in a header word."""
    for match in re.finditer(r"UNA|UNB", text):
        index = match.start()
        if match.group() == "UNA" and text[index + 9 : index + 12] == "UNB":
            return index
        if match.group() == "UNB" and re.match(r"[^A-Za-z0-9 ][A-Z]{4}", text[index + 3 : index + 8]):
            return index
    return -1


def _characters_of(body: str) -> Characters:
    if body.startswith("UNA"):
        if len(body) < 9:
            raise EdifactError(segment="UNA", position=1, reason="the service string advice is cut short")
        return Characters.from_str(body[3:9])
    return Characters.from_str(DEFAULT_SERVICE_STRING)


def _interchange_end(body: str, characters: Characters) -> int:
    """The index just after the UNZ segment's terminator, or -1."""
    release, terminator = characters.escape_character, characters.segment_terminator
    for match in re.finditer("UNZ" + re.escape(characters.data_separator), body):
        index = match.end()
        while index < len(body):
            if body[index] == release:
                index += 2
                continue
            if body[index] == terminator:
                return index + 1
            index += 1
    return -1


def tokenise(body: str, characters: Characters) -> list[Segment]:
    """The segments of a cleaned interchange (after ``UNA``), tokenised by pydifact."""
    if body.startswith("UNA"):
        body = body[9:]
    segments: list[Segment] = []
    elements: list[list[str]] = []
    tokens = Tokenizer().get_tokens(body, characters)
    try:
        for token in tokens:
            if token.type == Token.Type.CONTENT:
                if not elements:
                    elements.append([])
                current = elements[-1]
                if current:
                    current[-1] += token.value
                else:
                    current.append(token.value)
            elif token.type == Token.Type.DATA_SEPARATOR:
                if not elements:
                    elements.append([""])
                elements.append([""])
            elif token.type == Token.Type.COMPONENT_SEPARATOR:
                if not elements:
                    elements.append([""])
                if not elements[-1]:
                    elements[-1].append("")
                elements[-1].append("")
            elif token.type == Token.Type.TERMINATOR:
                segments.append(_segment(elements, len(segments) + 1))
                elements = []
    except EDISyntaxError as error:
        raise EdifactError(position=len(segments) + 1, reason=f"cannot tokenise: {error}") from error
    if any(part.strip() for element in elements for part in element):
        raise EdifactError(
            position=len(segments) + 1, reason="the interchange ends inside a segment (no terminator)"
        )
    return segments


def _segment(elements: list[list[str]], position: int) -> Segment:
    if not elements or not elements[0] or not elements[0][0].strip():
        raise EdifactError(position=position, reason="a segment without a tag")
    tag = elements[0][0].strip()
    if not re.fullmatch(r"[A-Z0-9]{3}", tag):
        raise EdifactError(position=position, segment=tag[:8], reason=f"{tag[:20]!r} is not a segment tag")
    data = tuple(tuple(part for part in element) if element else ("",) for element in elements[1:])
    return Segment(tag=tag, elements=data, position=position)


def read_interchange(text: str) -> Interchange:
    """Parse an interchange (transport wrapping allowed) into its messages, checking its envelope.

    Structural faults (no UNB, a message without UNT, a segment outside any message) raise ``EdifactError``.
    Count and reference mismatches (``UNT``, ``UNE``, ``UNZ``) do not: they are recorded in the ``issues``
    of the message or interchange concerned, so a carrier's list is still read and the fault reported.
    """
    body = clean_interchange(text)
    characters = _characters_of(body)
    segments = tokenise(body, characters)
    if body.startswith("UNA"):
        segments = [Segment(s.tag, s.elements, s.position + 1) for s in segments]
    if not segments or segments[0].tag != "UNB":
        found = segments[0].tag if segments else "nothing"
        raise EdifactError(segment=found, position=1, reason="an interchange starts with UNB")
    unb = segments[0]
    interchange = Interchange(
        characters=characters,
        sender=unb.value(2),
        recipient=unb.value(3),
        reference=unb.value(5),
        syntax=":".join(unb.element(1)),
        messages=[],
    )
    groups = 0
    group: tuple[Segment, int] | None = None  # UNG and the number of messages before it
    current: list[Segment] | None = None
    closed = False
    for segment in segments[1:]:
        if closed:
            raise EdifactError(segment=segment.tag, position=segment.position, reason="a segment after UNZ")
        if segment.tag == "UNH":
            if current is not None:
                raise EdifactError(
                    message=current[0].value(1),
                    segment="UNH",
                    position=segment.position,
                    reason="a message starts before the previous one ended with UNT",
                )
            current = [segment]
        elif segment.tag == "UNT":
            if current is None:
                raise EdifactError(segment="UNT", position=segment.position, reason="UNT without a UNH")
            current.append(segment)
            interchange.messages.append(_message(current, group[0].value(5) if group else None))
            current = None
        elif current is not None:
            current.append(segment)
        elif segment.tag == "UNG":
            if group is not None:
                raise EdifactError(segment="UNG", position=segment.position, reason="a group inside a group")
            group = (segment, len(interchange.messages))
            groups += 1
        elif segment.tag == "UNE":
            if group is None:
                raise EdifactError(segment="UNE", position=segment.position, reason="UNE without a UNG")
            _check_count(
                interchange.issues,
                segment,
                declared=segment.value(1),
                actual=len(interchange.messages) - group[1],
                what="messages in the group",
            )
            _check_reference(interchange.issues, segment, segment.value(2), group[0].value(5), "UNG")
            group = None
        elif segment.tag == "UNZ":
            if group is not None:
                raise EdifactError(
                    segment="UNZ", position=segment.position, reason="UNZ inside an open group"
                )
            _check_count(
                interchange.issues,
                segment,
                declared=segment.value(1),
                actual=groups or len(interchange.messages),
                what="groups" if groups else "messages",
            )
            _check_reference(interchange.issues, segment, segment.value(2), interchange.reference, "UNB")
            closed = True
        else:
            raise EdifactError(
                segment=segment.tag, position=segment.position, reason="a segment outside any message"
            )
    if current is not None:
        raise EdifactError(
            message=current[0].value(1),
            segment=current[-1].tag,
            position=len(current),
            reason="the message has no UNT (cut short?)",
        )
    if not closed:
        interchange.issues.append(
            EdifactError(segment="UNZ", reason="the interchange has no UNZ trailer (cut short?)")
        )
    return interchange


def _message(segments: list[Segment], group_reference: str | None) -> Message:
    unh, unt = segments[0], segments[-1]
    identifier = unh.element(2)
    message = Message(
        reference=unh.value(1),
        message_type=identifier[0] if identifier else "",
        version=":".join(identifier[1:3]),
        association=identifier[4] if len(identifier) > 4 else "",
        segments=segments,
        group_reference=group_reference,
    )
    _check_count(
        message.issues,
        unt,
        declared=unt.value(1),
        actual=len(segments),
        what="segments in the message",
        message=message.reference,
        position=len(segments),
    )
    _check_reference(
        message.issues,
        unt,
        unt.value(2),
        message.reference,
        "UNH",
        message=message.reference,
        position=len(segments),
    )
    return message


def _check_count(
    issues: list[EdifactError],
    segment: Segment,
    *,
    declared: str,
    actual: int,
    what: str,
    message: str | None = None,
    position: int | None = None,
) -> None:
    if declared.isdigit() and int(declared) == actual:
        return
    issues.append(
        EdifactError(
            message=message,
            segment=segment.tag,
            position=position if position is not None else segment.position,
            element=1,
            reason=f"{segment.tag} count is {declared or 'missing'} but there are {actual} {what}",
        )
    )


def _check_reference(
    issues: list[EdifactError],
    segment: Segment,
    declared: str,
    expected: str,
    opener: str,
    *,
    message: str | None = None,
    position: int | None = None,
) -> None:
    if declared == expected:
        return
    issues.append(
        EdifactError(
            message=message,
            segment=segment.tag,
            position=position if position is not None else segment.position,
            element=2,
            reason=f"{segment.tag} reference {declared!r} differs from {opener}'s {expected!r}",
        )
    )
