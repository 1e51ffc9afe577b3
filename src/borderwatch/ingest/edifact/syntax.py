"""UN/EDIFACT syntax (ISO 9735): a stream of bytes → segments → messages, with the envelope checked.

The tokeniser is ours, not pydifact's: pydifact's ``Tokenizer`` reads one character per Python generator step
(about 65,000 segments/s here before any mapping), under the 50,000 segments/s the ingest path must reach
once mapping and storage are added; splitting on the terminator with ``str.split`` and re-joining the pieces
a release character escaped does the same work in C (docs/decisions/ingest-0002-edifact-tokeniser.md).
pydifact stays the oracle the property tests compare this tokeniser with.

The reader streams: a file is read a chunk at a time and a message at a time is held in memory. A fault
inside a message (a broken segment, a wrong ``UNT`` count or reference, a line break inside a segment, a
message cut short) makes that message a problem, named by message, segment, position and element; the
reader goes on with the next ``UNH``. Faults of the envelope (``UNZ``/``UNE`` counts) are problems of
their own.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from borderwatch.core.errors import IngestError

# ISO 9735 level A/B defaults (no UNA): component ':', element '+', decimal '.', release '?', reserved ' ',
# segment terminator "'".
DEFAULT_SERVICE_STRING = ":+.? '"
CHUNK_BYTES = 1 << 20
# One message is at most this much text and this many segments: a message is held whole in memory.
MAX_MESSAGE_CHARS = 8 << 20
MAX_MESSAGE_SEGMENTS = 200_000
# Kept of a faulty message's text in the quarantine, to show what it was.
KEPT_OF_MESSAGE = 64 << 10
_TAG = re.compile(r"[A-Z][A-Z0-9]{2}")
_KNOWN_TAGS: set[str] = set()  # tags seen valid (at most 26 x 36 x 36): one set look-up, not a regex match


def _valid_tag(tag: str) -> bool:
    if _TAG.fullmatch(tag) is None:
        return False
    _KNOWN_TAGS.add(tag)
    return True


# Character sets of levels A to C (and their relatives) are single-byte; UNOW/UNOY are UTF-8.
_UTF8_SYNTAXES = {"UNOW", "UNOY"}


class EdifactError(IngestError):
    """A message or an envelope that cannot be read, naming the message, segment, position and element.

    ``position`` is the segment's ordinal in its message (``UNH`` is 1, as ``UNT`` counts), or in the
    interchange for a segment outside any message; ``element`` and ``component`` are 1-based positions
    after the tag (``NAD+IM+TIN1`` holds ``TIN1`` at element 2, component 1)."""

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
        super().__init__(record=f"message {message}" if message else None, field=self.where(), reason=reason)

    def where(self) -> str | None:
        """``segment MEA #12, element 3, component 2``: the place without the message."""
        parts = []
        if self.segment or self.position is not None:
            parts.append(
                f"segment {self.segment or '?'}" + (f" #{self.position}" if self.position is not None else "")
            )
        if self.element is not None:
            parts.append(
                f"element {self.element}" + (f", component {self.component}" if self.component else "")
            )
        return ", ".join(parts) or None

    def __str__(self) -> str:
        parts = [f"message {self.message}"] if self.message else []
        if where := self.where():
            parts.append(where)
        return f"{', '.join(parts)}: {self.reason}" if parts else self.reason


@dataclass(frozen=True, slots=True)
class Separators:
    """The service characters of an interchange (from its ``UNA`` or the defaults)."""

    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    reserved: str = " "
    terminator: str = "'"

    @classmethod
    def from_una(cls, advice: str) -> Separators:
        """From the six characters after ``UNA``."""
        return cls(advice[0], advice[1], advice[2], advice[3], advice[4], advice[5])

    def escape(self, text: str) -> str:
        """``text`` with each service character preceded by the release character."""
        if not any(c in text for c in (self.component, self.element, self.release, self.terminator)):
            return text
        specials = {self.component, self.element, self.release, self.terminator}
        return "".join(self.release + c if c in specials else c for c in text)


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its tag, its data elements (each a tuple of components), and where it was."""

    tag: str
    elements: tuple[tuple[str, ...], ...]
    position: int  # 1-based in the interchange (UNA, when present, is 1)
    text: str = ""  # as it was in the file, without its terminator

    def element(self, index: int) -> tuple[str, ...]:
        """Data element ``index`` (1-based, after the tag), empty when absent."""
        return self.elements[index - 1] if 0 < index <= len(self.elements) else ()

    def value(self, index: int, component: int = 1) -> str:
        """Component ``component`` of data element ``index`` (both 1-based), ``""`` when absent."""
        parts = self.element(index)
        return parts[component - 1] if 0 < component <= len(parts) else ""


def render(tag: str, elements: Iterable[Iterable[str]], separators: Separators) -> str:
    """One segment as text with its terminator (trailing empty components and elements dropped)."""
    out = [tag]
    for element in elements:
        components = [separators.escape(c) for c in element]
        while components and not components[-1]:
            components.pop()
        out.append(separators.component.join(components))
    while len(out) > 1 and not out[-1]:
        out.pop()
    return separators.element.join(out) + separators.terminator


@dataclass
class Message:
    """A message from ``UNH`` to ``UNT`` (both included) with its interchange's envelope."""

    reference: str
    message_type: str
    version: str  # "D:96B"
    segments: list[Segment]
    separators: Separators
    interchange: Envelope
    group: str | None = None
    error: EdifactError | None = None

    @property
    def position(self) -> int:
        """The position of ``UNH`` in the interchange: the message's place in its file."""
        return self.segments[0].position if self.segments else 0

    def relative(self, segment: Segment) -> int:
        """The segment's ordinal within this message (``UNH`` = 1), as ``UNT`` counts."""
        return segment.position - self.position + 1

    def text(self) -> str:
        """The message as it was, a segment a line, after its interchange's ``UNA`` and ``UNB``: text that
        reads again on its own (bounded: a huge message is cut, with a mark)."""
        separators, terminator = self.separators, self.separators.terminator
        service = "".join(
            (
                separators.component,
                separators.element,
                separators.decimal,
                separators.release,
                separators.reserved,
                terminator,
            )
        )
        out, size = [f"UNA{service}"], 0
        if self.interchange.text:
            out.append(self.interchange.text + terminator)
        for segment in self.segments:
            out.append(segment.text + terminator)
            size += len(segment.text) + 1
            if size > KEPT_OF_MESSAGE:
                out.append(" …")
                break
        return "\n".join(out)

    def fail(
        self, segment: Segment | None, reason: str, element: int | None = None, component: int | None = None
    ) -> EdifactError:
        """The error of ``segment`` (element, component) in this message."""
        return EdifactError(
            reason=reason,
            message=self.reference or None,
            segment=segment.tag if segment else None,
            position=self.relative(segment) if segment else None,
            element=element,
            component=component,
        )


@dataclass
class Envelope:
    """What ``UNB`` says about an interchange."""

    syntax: str = ""
    sender: str = ""
    recipient: str = ""
    prepared: str = ""  # "YYMMDD:HHMM" as in UNB element 4
    reference: str = ""
    application: str = ""
    text: str = ""  # the UNB segment as it was, to re-read one message on its own


@dataclass
class Fault:
    """A fault outside any message (envelope counts, stray segments, an interchange cut short)."""

    error: EdifactError
    position: int
    text: str


@dataclass
class _Reader:
    separators: Separators = field(default_factory=Separators)
    position: int = 0


def _encoding_of(head: bytes) -> str:
    """The text encoding from ``UNB``'s syntax identifier (UNOA..UNOK: single-byte; UNOW/UNOY: UTF-8)."""
    found = re.search(rb"UNB.(UNO[A-Z])", head[:4096])
    if found and found.group(1).decode() in _UTF8_SYNTAXES:
        return "utf-8"
    return "latin-1"


def _split_escaped(text: str, separator: str, release: str) -> list[str]:
    """``text`` split on each ``separator`` that no release character escapes (releases are kept)."""
    pieces = text.split(separator)
    if release not in text:
        return pieces
    out: list[str] = []
    carry: str | None = None
    for piece in pieces:
        joined = piece if carry is None else carry + separator + piece
        trailing = len(joined) - len(joined.rstrip(release))
        if trailing % 2:
            carry = joined
        else:
            out.append(joined)
            carry = None
    if carry is not None:
        out.append(carry)
    return out


def _unescape(text: str, release: str) -> str:
    if release not in text:
        return text
    out, index, size = [], 0, len(text)
    while index < size:
        char = text[index]
        if char == release and index + 1 < size:
            out.append(text[index + 1])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def parse_segment(text: str, position: int, separators: Separators) -> Segment:
    """One segment's text (no terminator) → ``Segment``; raises ``EdifactError`` when it is not one."""
    release = separators.release
    if release not in text:
        parts = text.split(separators.element)
        tag = parts[0]
        elements = tuple(tuple(part.split(separators.component)) for part in parts[1:])
    else:
        if text.endswith(release) and (len(text) - len(text.rstrip(release))) % 2:
            raise EdifactError(
                segment=text[:3],
                position=position,
                reason="ends with a release character that escapes nothing",
            )
        parts = _split_escaped(text, separators.element, release)
        tag = parts[0]
        elements = tuple(
            tuple(_unescape(c, release) for c in _split_escaped(part, separators.component, release))
            for part in parts[1:]
        )
    if tag not in _KNOWN_TAGS and not _valid_tag(tag):
        shown = tag[:20] or "(empty)"
        raise EdifactError(
            segment=tag[:8] or None, position=position, reason=f"{shown!r} is not a segment tag"
        )
    return Segment(tag=tag, elements=elements, position=position, text=text)


def _segment_texts(handle: BinaryIO, reader: _Reader) -> Iterator[str]:
    """The segments of the file as text (leading line breaks and blanks between segments removed)."""
    head = handle.read(CHUNK_BYTES)
    decoder = codecs.getincrementaldecoder(_encoding_of(head))(errors="replace")
    buffer = decoder.decode(head, final=not head)
    start = buffer.lstrip("\ufeff \t\r\n")
    if start.startswith("UNA") and len(start) >= 9:
        reader.separators = Separators.from_una(start[3:9])
        reader.position = 1
        buffer = start[9:]
    else:
        buffer = start
    terminator, release = reader.separators.terminator, reader.separators.release
    while True:
        pieces = _split_escaped(buffer, terminator, release)
        buffer = pieces.pop()
        for piece in pieces:
            yield piece.lstrip(" \t\r\n")
        data = handle.read(CHUNK_BYTES)
        if not data:
            buffer += decoder.decode(b"", final=True)
            break
        buffer += decoder.decode(data)
        if len(buffer) > MAX_MESSAGE_CHARS and terminator not in buffer:
            yield buffer[:KEPT_OF_MESSAGE]  # a segment without end: its start is shown as a broken segment
            buffer = ""
    if buffer.strip(" \t\r\n\x1a"):
        yield "\x00" + buffer.strip(" \t\r\n")  # cut short: no terminator (marked for the envelope walker)


def _check_segment_text(text: str, position: int, separators: Separators) -> Segment:
    if text.startswith("\x00"):
        raise EdifactError(
            segment=text[1:4] or None,
            position=position,
            reason="the file ends inside this segment (no terminator)",
        )
    if "\n" in text or "\r" in text:
        escaped = separators.release + separators.terminator
        why = (
            f"holds a line break: the release character {separators.release!r} before its terminator escaped"
            " it, so the segment runs on into the next"
            if escaped in text
            else "holds a line break, which no level A-C character set allows inside a segment"
        )
        raise EdifactError(segment=text[:3], position=position, reason=why)
    if "\ufffd" in text:
        raise EdifactError(
            segment=text[:3],
            position=position,
            reason="holds bytes that are not text in the interchange's character set",
        )
    return parse_segment(text, position, separators)


class _Walker:
    """The envelope state machine: segments → messages and faults, counts and references checked."""

    def __init__(self, separators: Separators) -> None:
        self.separators = separators
        self.envelope = Envelope()
        self.current: Message | None = None
        self.size = 0
        self.group: tuple[str, int] | None = None  # UNG reference, messages before it
        self.messages = 0
        self.groups = 0

    def start(self, unh: Segment) -> Message:
        identifier = unh.element(2)
        return Message(
            reference=unh.value(1),
            message_type=identifier[0] if identifier else "",
            version=":".join(identifier[1:3]),
            segments=[unh],
            separators=self.separators,
            interchange=self.envelope,
            group=self.group[0] if self.group else None,
        )

    def close(self, unt: Segment) -> Message:
        message = self.current
        assert message is not None
        message.segments.append(unt)
        self.current = None
        self.messages += 1
        if message.error is None:
            count, reference = unt.value(1), unt.value(2)
            if not (count.isdigit() and int(count) == len(message.segments)):
                message.error = message.fail(
                    unt,
                    f"UNT counts {count or 'nothing'} segments but the message has {len(message.segments)}",
                    1,
                )
            elif reference != message.reference:
                message.error = message.fail(
                    unt, f"UNT reference {reference!r} differs from UNH's {message.reference!r}", 2
                )
        return message

    def add(self, segment: Segment) -> None:
        message = self.current
        assert message is not None
        self.size += len(segment.text)
        if len(message.segments) >= MAX_MESSAGE_SEGMENTS or self.size > MAX_MESSAGE_CHARS:
            if message.error is None:
                message.error = message.fail(
                    segment,
                    f"the message is longer than {MAX_MESSAGE_SEGMENTS:,} segments or"
                    f" {MAX_MESSAGE_CHARS:,} characters",
                )
            return
        message.segments.append(segment)

    def envelope_segment(self, segment: Segment) -> Fault | None:
        tag = segment.tag
        if tag == "UNB":
            self.envelope = Envelope(
                syntax=":".join(segment.element(1)),
                sender=segment.value(2),
                recipient=segment.value(3),
                prepared=":".join(segment.element(4)),
                reference=segment.value(5),
                application=segment.value(7),
                text=segment.text,
            )
            return None
        if tag == "UNG":
            self.group = (segment.value(5), self.messages)
            self.groups += 1
            return None
        if tag == "UNE" and self.group is not None:
            declared, actual = segment.value(1), self.messages - self.group[1]
            self.group = None
            return self._count(segment, declared, actual, "messages in its group")
        if tag == "UNZ":
            actual = self.groups or self.messages
            fault = self._count(segment, segment.value(1), actual, "groups" if self.groups else "messages")
            if fault is None and segment.value(2) != self.envelope.reference:
                fault = Fault(
                    EdifactError(
                        segment="UNZ",
                        position=segment.position,
                        element=2,
                        reason=f"UNZ reference {segment.value(2)!r} differs from UNB's"
                        f" {self.envelope.reference!r}",
                    ),
                    segment.position,
                    segment.text,
                )
            self.messages = self.groups = 0
            return fault
        return Fault(
            EdifactError(
                segment=tag, position=segment.position, reason="is outside any message (no UNH before it)"
            ),
            segment.position,
            segment.text,
        )

    def _count(self, segment: Segment, declared: str, actual: int, what: str) -> Fault | None:
        if declared.isdigit() and int(declared) == actual:
            return None
        return Fault(
            EdifactError(
                segment=segment.tag,
                position=segment.position,
                element=1,
                reason=f"{segment.tag} counts {declared or 'nothing'} but the interchange has"
                f" {actual} {what}",
            ),
            segment.position,
            segment.text,
        )


def read_messages(handle: BinaryIO) -> Iterator[Message | Fault]:
    """The messages of an EDIFACT file in order, each whole or with its first ``error``; and the faults
    outside messages. Never raises on bad content: every fault is named and reading goes on."""
    reader = _Reader()
    texts = _segment_texts(handle, reader)
    walker: _Walker | None = None
    for text in texts:
        if walker is None:
            walker = _Walker(reader.separators)
        reader.position += 1
        position = reader.position
        current = walker.current
        try:
            segment = _check_segment_text(text, position, reader.separators)
        except EdifactError as error:
            if current is None:
                yield Fault(error, position, text.lstrip("\x00"))
            elif current.error is None:
                broken = Segment(
                    tag=error.segment or "?", elements=(), position=position, text=text.lstrip("\x00")
                )
                current.segments.append(broken)
                current.error = current.fail(broken, error.reason)
            continue
        if segment.tag == "UNH":
            if current is not None:
                if current.error is None:
                    current.error = current.fail(
                        current.segments[-1], "the message has no UNT: a new UNH starts before it ends"
                    )
                yield current
            walker.current, walker.size = walker.start(segment), len(segment.text)
        elif current is not None and segment.tag == "UNT":
            yield walker.close(segment)
        elif current is not None:
            walker.add(segment)
        elif (fault := walker.envelope_segment(segment)) is not None:
            yield fault
    if walker is not None and walker.current is not None:
        current = walker.current
        if current.error is None:
            current.error = current.fail(
                current.segments[-1], "the message has no UNT (the interchange is cut short)"
            )
        yield current


def sniff(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file) starts an EDIFACT interchange (``UNA``/``UNB``)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"UNA") and len(start) >= 12:
        return start[9:12] == b"UNB" or start[9:].lstrip(b"\r\n").startswith(b"UNB")
    return re.match(rb"UNB[^A-Za-z0-9 ]UNO[A-Z]", start) is not None


def messages_of_text(text: str) -> Iterator[Message | Fault]:
    """``read_messages`` of an interchange already held as text (a quarantined message, corrected)."""
    encoding = _encoding_of(text[:4096].encode("utf-8", errors="replace"))
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as error:
        raise EdifactError(
            reason=f"holds {error.object[error.start]!r}, outside the interchange's character set"
        ) from None
    return read_messages(io.BytesIO(data))
