"""PAXLST (passenger and crew lists) mapped to travellers, from the UN/EDIFACT directory (D:02B-D:05B).

Segment groups of the message, as the WCO/IATA/ICAO API guidelines use them:

- SG1 ``NAD`` (``MS``, the reporting party) with ``COM``;
- SG2 ``TDT`` (the flight or voyage: conveyance number, carrier) with ``DTM``; SG3 ``LOC`` ``125`` (departure)
  and ``87`` (arrival), each with a ``DTM`` ``189``/``232``, ``92`` (routing);
- SG4 ``NAD`` (a person: ``FL`` passenger, ``FM`` crew, ``DDU``/``DDT`` in transit, any other qualifier) with
  ``ATT`` (``2``: sex), ``DTM`` (``329``: birth), ``MEA``, ``GEI``, ``FTX``, ``LOC`` (``178``
  embarkation, ``179`` disembarkation, ``22`` clearance, ``174`` residence, ``180`` birth place), ``COM``,
  ``EMP``, ``NAT``,
  ``RFF`` (``AVF`` booking, ``SEA`` seat, ``ABO``/``AEA`` ...); SG5 ``DOC`` with ``DTM`` (``36`` expiry,
  ``182`` issue) and ``LOC`` (``91`` place of issue);
- ``CNT`` (``42``: passengers, ``41``: crew).

A person whose group cannot be read (no name, a date that is not one) is rejected with the segment and element
at fault and the rest of the list is kept; a message whose envelope counts disagree is read and the
disagreement reported.
"""

from __future__ import annotations

import datetime as dt

from borderwatch.travellers.edifact import EdifactError, Interchange, Message, Segment, read_interchange
from borderwatch.travellers.mrz import birth_date_of, expiry_date_of
from borderwatch.travellers.records import (
    Movement,
    Rejected,
    TravelDocument,
    Traveller,
    TravellerList,
    country3,
)

ROLE_OF = {"FL": "passenger", "FM": "crew", "DDU": "transit_passenger", "DDT": "transit_crew"}


def _date(segment: Segment, message: Message, *, birth: bool = False) -> dt.datetime:
    """A ``DTM`` value (``C507``: qualifier, value, format 102/201/203 or by length) as a datetime."""
    value, fmt = segment.value(1, 2).strip(), segment.value(1, 3).strip()
    try:
        if fmt == "102" or (not fmt and len(value) == 8):
            return dt.datetime.strptime(value, "%Y%m%d")
        if fmt == "203" or (not fmt and len(value) == 12):
            return dt.datetime.strptime(value, "%Y%m%d%H%M")
        if fmt == "201" or (not fmt and len(value) == 10):
            return dt.datetime.strptime(value, "%y%m%d%H%M")
        if len(value) == 6 and value.isdigit():
            day = birth_date_of(value) if birth else expiry_date_of(value)
            if day is not None:
                return dt.datetime.combine(day, dt.time())
    except ValueError:
        pass
    raise EdifactError(
        message=message.reference,
        segment="DTM",
        position=message.relative(segment),
        element=1,
        component=2,
        reason=f"{value!r} is not a date (format {fmt or 'by length'})",
    )


class _Person:
    def __init__(self, nad: Segment, message: Message, ordinal: int) -> None:
        self.segments = [nad]
        self.message = message
        self.ordinal = ordinal

    def build(self, repetition: str | None) -> Traveller:
        nad, message = self.segments[0], self.message
        name = [part.strip() for part in nad.element(4)]
        surname = name[0] if name else ""
        if not surname:
            raise EdifactError(
                message=message.reference,
                segment="NAD",
                position=message.relative(nad),
                element=4,
                reason="a person without a family name",
            )
        given = " ".join(part for part in name[1:3] if part)
        address = ", ".join(v for v in (nad.value(5), nad.value(6), nad.value(7), nad.value(8)) if v.strip())
        traveller = Traveller(
            key=f"{message.reference}/{self.ordinal}",
            surname=surname,
            given_names=given,
            role=ROLE_OF.get(nad.value(1), "other"),
            address=address or None,
            residence_country=country3(nad.value(9)) if nad.value(9) else None,
        )
        document: TravelDocument | None = None
        for segment in self.segments[1:]:
            tag = segment.tag
            if tag == "DOC":
                number = segment.value(2).strip()
                if not number:
                    raise EdifactError(
                        message=message.reference,
                        segment="DOC",
                        position=message.relative(segment),
                        element=2,
                        reason="a document without a number",
                    )
                document = TravelDocument(code=segment.value(1).strip(), number=number)
                traveller.documents.append(document)
            elif document is not None:
                self._document_detail(document, segment)
            else:
                self._person_detail(traveller, segment, repetition)
        return traveller

    def _person_detail(self, traveller: Traveller, segment: Segment, repetition: str | None) -> None:
        tag, qualifier = segment.tag, segment.value(1)
        if tag == "ATT" and qualifier == "2":
            sex = segment.value(3)
            if repetition:
                sex = sex.split(repetition)[0]
            traveller.sex = sex.strip()[:1] or None
        elif tag == "DTM" and qualifier == "329":
            traveller.birth_date = _date(segment, self.message, birth=True).date()
        elif tag == "NAT":
            traveller.nationality = country3(segment.value(2))
        elif tag == "LOC":
            place = segment.value(2).strip() or None
            if qualifier == "178":
                traveller.embarkation = place
            elif qualifier == "179":
                traveller.debarkation = place
            elif qualifier == "174":
                traveller.residence_country = country3(place)
            elif qualifier == "180":
                traveller.birth_place = segment.value(2, 4) or place
            elif qualifier in ("92", "22") and place:
                traveller.itinerary = (*traveller.itinerary, place)
        elif tag == "RFF":
            if qualifier == "AVF":
                traveller.booking_ref = segment.value(1, 2) or None
            elif qualifier == "SEA":
                traveller.seat = segment.value(1, 2) or None
        elif tag == "COM":
            for component in segment.elements:
                if len(component) > 1 and component[1] == "TE" and not traveller.phone:
                    traveller.phone = component[0]
                elif len(component) > 1 and component[1] == "EM":
                    traveller.email = component[0]
        elif tag == "MEA" and qualifier == "CT":
            count = segment.value(3, 2)
            traveller.bags = int(count) if count.isdigit() else traveller.bags

    def _document_detail(self, document: TravelDocument, segment: Segment) -> None:
        tag, qualifier = segment.tag, segment.value(1)
        if tag == "DTM" and qualifier == "36":
            document.expiry = _date(segment, self.message).date()
        elif tag == "DTM" and qualifier == "182":
            document.issued = _date(segment, self.message, birth=True).date()
        elif tag == "LOC" and qualifier == "91" and segment.value(2, 2) != "163":
            # Code list 163 is a country subdivision (a US state), not the issuing country.
            document.issuing_state = country3(segment.value(2))


def _movement(message: Message, association: str) -> Movement:
    movement = Movement(kind="flight" if association == "IATA" else "voyage", number="")
    for segment in message.segments:
        tag, qualifier = segment.tag, segment.value(1)
        if tag == "NAD" and qualifier == "MS" and not movement.reporting_party:
            name = " ".join(p for p in segment.element(4) if p) or segment.value(2)
            movement.reporting_party = name or None
        elif tag == "TDT" and not movement.number:
            movement.number = segment.value(2).strip()
            movement.carrier = segment.value(5).strip() or None
            if not movement.number:
                movement.number = segment.value(8).strip() or (movement.carrier or "")
            if qualifier == "11" and association != "IATA":
                movement.kind = "vehicle"
        elif tag == "LOC":
            if qualifier == "125":
                movement.departure_place = segment.value(2).strip() or None
            elif qualifier == "87":
                movement.arrival_place = segment.value(2).strip() or None
        elif tag == "DTM" and qualifier in ("189", "132", "232"):
            when = _date(segment, message)
            # 189: departure; 232: arrival (scheduled); 132: arrival, estimated.
            if qualifier == "189":
                movement.departure_at = movement.departure_at or when
            else:
                movement.arrival_at = movement.arrival_at or when
        elif tag == "NAD" and movement.number:
            break
    if not movement.number:
        raise EdifactError(
            message=message.reference, segment="TDT", element=2, reason="no TDT names the flight or voyage"
        )
    return movement


def read_message(
    message: Message, *, repetition: str | None, raw_of: Interchange
) -> tuple[Movement, list[Traveller], list[Rejected], list[str]]:
    """The movement and travellers of one PAXLST message, the people rejected, and the issues found."""
    if message.message_type != "PAXLST":
        raise EdifactError(
            message=message.reference,
            segment="UNH",
            position=1,
            element=2,
            reason=f"a {message.message_type or 'nameless'} message, not PAXLST",
        )
    movement = _movement(message, message.association)
    people: list[_Person] = []
    seen_transport = False
    counts: dict[str, int] = {}
    for segment in message.segments[1:-1]:
        if segment.tag == "TDT":
            seen_transport = True
        if segment.tag == "NAD" and (seen_transport and segment.value(1) != "MS"):
            people.append(_Person(segment, message, len(people) + 1))
        elif segment.tag == "CNT":
            for element in segment.elements:
                if len(element) > 1 and element[1].isdigit():
                    counts[element[0]] = int(element[1])
        elif people and segment.tag not in ("UNS", "CNT"):
            people[-1].segments.append(segment)
    travellers: list[Traveller] = []
    rejected: list[Rejected] = []
    for person in people:
        try:
            travellers.append(person.build(repetition))
        except EdifactError as error:
            raw = "".join(s.raw(raw_of.characters) for s in person.segments)
            rejected.append(
                Rejected(
                    record=f"message {message.reference} person {person.ordinal}",
                    field=str(error.field),
                    reason=str(error),
                    raw=raw,
                )
            )
    issues = [str(issue) for issue in message.issues]
    for code, what, roles in (
        ("42", "passengers", {"passenger", "transit_passenger"}),
        ("41", "crew", {"crew", "transit_crew"}),
    ):
        if code in counts:
            held = sum(1 for p in people if ROLE_OF.get(p.segments[0].value(1), "other") in roles)
            if counts[code] != held and not (code == "42" and held == 0):
                issues.append(
                    f"message {message.reference}, segment CNT: {counts[code]} {what} declared, "
                    f"{held} in the message"
                )
    return movement, travellers, rejected, issues


def read_paxlst(text: str, *, source: str = "paxlst") -> TravellerList:
    """Every PAXLST message of an interchange (transport wrapping allowed) as movements and travellers.

    Raises ``EdifactError`` when the interchange itself cannot be read; a message that cannot be read is
    rejected whole (with the segment and element at fault), a person that cannot be read is rejected alone.
    """
    interchange = read_interchange(text)
    result = TravellerList(source=source, issues=[str(i) for i in interchange.issues])
    repetition = interchange.repetition_separator
    for message in interchange.messages:
        try:
            movement, travellers, rejected, issues = read_message(
                message, repetition=repetition, raw_of=interchange
            )
        except EdifactError as error:
            raw = "".join(s.raw(interchange.characters) for s in message.segments)
            result.rejected.append(
                Rejected(record=f"message {message.reference}", field=error.field, reason=str(error), raw=raw)
            )
            result.issues.extend(str(i) for i in message.issues)
            continue
        result.movements.append((movement, travellers))
        result.rejected.extend(rejected)
        result.issues.extend(issues)
    return result


def _released(value: str, service: str) -> str:
    """``value`` with the release character before each service character (ISO 9735)."""
    specials = {service[0], service[1], service[3], service[5]}  # component, element, release, terminator
    release = service[3]
    return "".join(release + char if char in specials else char for char in value)


def write_paxlst(
    movement: Movement,
    travellers: list[Traveller],
    *,
    service: str = ":+.? '",
    sender: str = "CARRIER",
    recipient: str = "BORDERWATCH",
    reference: str = "1",
    prepared: dt.datetime | None = None,
) -> str:
    """A PAXLST interchange (D:05B, IATA association, one functional group and one message) for a list.

    Dates are written as CCYYMMDD (format 102) and times as CCYYMMDDHHMM (203), so no century is guessed
    when it is read back. Used to test the reader and to hand lists to other systems.
    """
    component, element, terminator = service[0], service[1], service[5]
    when = prepared or dt.datetime(2026, 1, 1)

    def segment(tag: str, *elements: str | tuple[str, ...]) -> str:
        parts = [
            component.join(_released(c, service) for c in e)
            if isinstance(e, tuple)
            else _released(e, service)
            for e in elements
        ]
        while parts and not parts[-1]:  # trailing empty elements are left out (not stripped as text:
            parts.pop()  # a released separator at the end of a value must stay)
        return element.join([tag, *parts]) + terminator

    def day(value: dt.date) -> str:
        return value.strftime("%Y%m%d")

    body = [
        segment("BGM", "745"),
        segment("NAD", "MS", "", "", movement.reporting_party or sender),
        segment("TDT", "20", movement.number, "", "", movement.carrier or ""),
    ]
    for qualifier, place, time_qualifier, moment in (
        ("125", movement.departure_place, "189", movement.departure_at),
        ("87", movement.arrival_place, "232", movement.arrival_at),
    ):
        if place:
            body.append(segment("LOC", qualifier, place))
        if moment:
            body.append(segment("DTM", (time_qualifier, moment.strftime("%Y%m%d%H%M"), "203")))
    roles = {role: code for code, role in ROLE_OF.items()}
    for traveller in travellers:
        body.append(
            segment(
                "NAD", roles.get(traveller.role, "FL"), "", "", (traveller.surname, traveller.given_names)
            )
        )
        if traveller.sex:
            body.append(segment("ATT", "2", "", traveller.sex))
        if traveller.birth_date:
            body.append(segment("DTM", ("329", day(traveller.birth_date), "102")))
        for qualifier, place in (("178", traveller.embarkation), ("179", traveller.debarkation)):
            if place:
                body.append(segment("LOC", qualifier, place))
        if traveller.nationality:
            body.append(segment("NAT", "2", traveller.nationality))
        if traveller.booking_ref:
            body.append(segment("RFF", ("AVF", traveller.booking_ref)))
        if traveller.seat:
            body.append(segment("RFF", ("SEA", traveller.seat)))
        for document in traveller.documents:
            body.append(segment("DOC", (document.code, "110", "111"), document.number))
            if document.expiry:
                body.append(segment("DTM", ("36", day(document.expiry), "102")))
            if document.issuing_state:
                body.append(segment("LOC", "91", document.issuing_state))
    crew = sum(1 for t in travellers if t.role in ("crew", "transit_crew"))
    body.append(segment("CNT", ("42", str(len(travellers) - crew))))
    if crew:
        body.append(segment("CNT", ("41", str(crew))))
    message = [segment("UNH", reference, ("PAXLST", "D", "05B", "UN", "IATA")), *body]
    message.append(segment("UNT", str(len(message) + 1), reference))
    stamp = (when.strftime("%y%m%d"), when.strftime("%H%M"))
    return "".join(
        [
            f"UNA{service}",
            segment("UNB", ("UNOA", "4"), (sender, "ZZ"), (recipient, "ZZ"), stamp, reference, "", "APIS"),
            segment("UNG", "PAXLST", (sender, "ZZ"), (recipient, "ZZ"), stamp, reference, "UN", ("D", "05B")),
            *message,
            segment("UNE", "1", reference),
            segment("UNZ", "1", reference),
        ]
    )
