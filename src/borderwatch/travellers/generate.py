"""A generated flight with planted cases, for the benchmark and the tests (seeded, no personal data).

Planted: a listed person travelling under the Cyrillic spelling of a name the watchlist holds in Latin
letters (the MRZ carries Doc 9303's transliteration), a passport on the lost/stolen list, an MRZ with a wrong
check digit, and a co-traveller on the listed person's booking. Clean passengers get ordinary noise: some
transit through a hub, some one-way tickets, shared bookings in families.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from borderwatch.screening import WatchEntry
from borderwatch.travellers.mrz import compose_mrz
from borderwatch.travellers.records import Movement, TravelDocument, Traveller

GIVEN = [
    "ANNA",
    "JAN",
    "PIETER",
    "MARIA",
    "LUCA",
    "SOFIA",
    "MIGUEL",
    "ELENA",
    "OMAR",
    "FATIMA",
    "KENJI",
    "YUKI",
    "LIAM",
    "NOAH",
    "EMMA",
    "OLIVIA",
    "AHMED",
    "LEILA",
    "IVAN",
    "OLGA",
    "CHEN",
    "WEI",
    "PRIYA",
    "ARJUN",
    "TOMAS",
    "EVA",
    "JONAS",
    "MARTA",
    "HUGO",
    "INES",
    "KARIM",
    "NADIA",
    "SAMUEL",
    "GRACE",
    "PAOLO",
    "GIULIA",
    "ERIK",
    "INGRID",
    "MATEO",
    "VALENTINA",
]
SURNAMES = [
    "JANSEN",
    "DE",
    "VRIES",
    "SILVA",
    "SANTOS",
    "ROSSI",
    "BIANCHI",
    "MULLER",
    "SCHMIDT",
    "NOVAK",
    "KOWALSKI",
    "GARCIA",
    "LOPEZ",
    "MARTIN",
    "BERNARD",
    "DUBOIS",
    "NGUYEN",
    "TANAKA",
    "SATO",
    "KIM",
    "PARK",
    "SMITH",
    "JONES",
    "BROWN",
    "TAYLOR",
    "WILSON",
    "HANSEN",
    "NIELSEN",
    "JOHANSSON",
    "PERSSON",
    "OKAFOR",
    "MENSAH",
    "HASSAN",
    "KHAN",
    "PATEL",
    "SINGH",
    "COHEN",
    "LEVI",
    "PETROVA",
    "ORTEGA",
    "FERREIRA",
    "COSTA",
    "HORVATH",
]
NATIONALITIES = (
    "NLD",
    "DEU",
    "FRA",
    "ITA",
    "ESP",
    "PRT",
    "POL",
    "GBR",
    "USA",
    "JPN",
    "IND",
    "NGA",
    "TUR",
    "BRA",
)
PLACES = ("AMS", "CDG", "FRA", "MAD", "IST", "DXB", "JFK", "LOS", "DEL", "GRU", "WAW", "LHR")
HUBS = ("IST", "DXB")
# Listed names come from other pools than passengers' (a list of 2,000 rarely names a random passenger); a
# few entries reuse passengers' names with another birth year and nationality, which the qualifiers clear.
WATCH_GIVEN = (
    "ABU", "YUSUF", "KHALID", "TARIQ", "BORIS", "VIKTOR", "SERGEI", "ALEKSANDR", "HOSSEIN", "REZA", "MAJID",
    "KIM", "JONG", "CARLOS", "DIOSDADO", "NICOLAS", "ALEXANDR", "ZAHRA", "MARYAM", "SVETLANA",
)  # fmt: skip
WATCH_SURNAMES = (
    "AL-RASHID", "HAQQANI", "ZAWAHIRI", "VOLKOV", "SOKOLOV", "LEBEDEV", "KOZLOV", "TEHRANI", "MOHSENI",
    "RAHIMI", "JONG-UN", "CABELLO", "MADURO", "LUKASHENKO", "KARIMOV", "BAGHDADI", "NASRALLAH", "QASIMI",
    "MORALES", "ESCOBAR", "GUZMAN", "OCHOA", "FELIX", "ARELLANO",
)  # fmt: skip


@dataclass
class GeneratedFlight:
    movement: Movement
    travellers: list[Traveller]
    watchlist: list[WatchEntry]
    lost_stolen: dict[str, list[dict[str, object]]]
    planted: dict[str, str] = field(default_factory=dict)  # case → traveller key

    @property
    def clean_keys(self) -> set[str]:
        return {t.key for t in self.travellers} - set(self.planted.values())


def _document(
    rng: random.Random, *, nationality: str, surname: str, given: str, born: dt.date
) -> TravelDocument:
    number = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2)) + f"{rng.randrange(10**7):07d}"
    expiry = dt.date(2027 + rng.randrange(9), rng.randrange(1, 13), rng.randrange(1, 29))
    mrz = compose_mrz(
        fmt="TD3",
        document_number=number,
        issuing_state=nationality,
        nationality=nationality,
        surname=surname,
        given_names=given,
        birth_date=born.strftime("%y%m%d"),
        sex=rng.choice("MF"),
        expiry_date=expiry.strftime("%y%m%d"),
    )
    return TravelDocument(code="P", number=number, issuing_state=nationality, expiry=expiry, mrz=mrz)


def generate_flight(*, passengers: int = 300, seed: int = 7, watchlist_size: int = 2000) -> GeneratedFlight:
    rng = random.Random(seed)
    departure = dt.datetime(2026, 11, 20, 9, 30)
    movement = Movement(
        kind="flight",
        number="BW123",
        carrier="BW",
        departure_place="IST",
        departure_at=departure,
        arrival_place="AMS",
        arrival_at=departure + dt.timedelta(hours=3, minutes=40),
    )
    travellers: list[Traveller] = []
    booking = ""
    for index in range(passengers):
        if index == 0 or rng.random() < 0.6:
            booking = f"PNR{index:04d}"
        surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
        nationality = rng.choice(NATIONALITIES)
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(25000))
        origin = rng.choice(PLACES)
        travellers.append(
            Traveller(
                key=f"P{index:03d}",
                surname=surname,
                given_names=given,
                birth_date=born,
                sex=rng.choice("MF"),
                nationality=nationality,
                documents=[_document(rng, nationality=nationality, surname=surname, given=given, born=born)],
                embarkation=origin,
                debarkation="AMS",
                itinerary=(rng.choice(HUBS),) if rng.random() < 0.15 else (),
                booking_ref=booking,
                booked_on=(departure - dt.timedelta(days=rng.randrange(0, 90))).date(),
                one_way=rng.random() < 0.2,
                seat=f"{index // 6 + 1}{'ABCDEF'[index % 6]}",
                phone=f"+31 6 {rng.randrange(10**8):08d}",
            )
        )
    watchlist = [
        WatchEntry(
            entity_id=f"gen:{i}",
            list_name="gen",
            kind="person",
            name=f"{rng.choice(WATCH_GIVEN).title()} {rng.choice(WATCH_SURNAMES).title()}",
            dobs=((dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(25000))).isoformat(),),
            nationalities=(rng.choice(("RU", "IR", "SY", "KP", "VE", "BY")),),
        )
        for i in range(watchlist_size)
    ]
    for index, traveller in enumerate(travellers[::30]):
        assert traveller.birth_date is not None
        watchlist.append(
            WatchEntry(
                entity_id=f"gen:namesake{index}",
                list_name="gen",
                kind="person",
                name=traveller.name.title(),
                dobs=(str(traveller.birth_date.year - 12),),
                nationalities=("KP",),
            )
        )
    planted: dict[str, str] = {}
    # 1. a listed person, listed in Latin letters, travelling under the Cyrillic spelling (MRZ: ICAO's).
    listed = travellers[passengers // 7]
    born = dt.date(1975, 3, 14)
    listed.surname, listed.given_names, listed.nationality, listed.birth_date = (
        "Щукин",
        "Дмитрий",
        "RUS",
        born,
    )
    listed.documents = [_document(rng, nationality="RUS", surname="Щукин", given="Дмитрий", born=born)]
    watchlist.append(
        WatchEntry(
            entity_id="gen:listed",
            list_name="gen",
            kind="person",
            name="Dmitriy Shchukin",
            dobs=("1975-03-14",),
            nationalities=("RU",),
        )
    )
    planted["listed_transliterated"] = listed.key
    # 2. a co-traveller on the listed person's booking, alone on it otherwise.
    companion = travellers[passengers // 7 + 1]
    companion.booking_ref = listed.booking_ref = "PNRLIST"
    planted["co_traveller"] = companion.key
    # 3. a passport on the lost/stolen list.
    stolen = travellers[passengers // 2]
    lost_stolen: dict[str, list[dict[str, object]]] = {
        stolen.documents[0].number: [
            {
                "issuing_state": stolen.documents[0].issuing_state,
                "status": "stolen",
                "reported_on": "2025-06-01",
            }
        ]
    }
    planted["lost_stolen"] = stolen.key
    stolen.booking_ref = "PNRSOLO1"  # travelling alone: no co-traveller inherits the flag
    # 4. an MRZ whose birth date check digit is wrong.
    forged = travellers[passengers * 5 // 6]
    first, second = (forged.documents[0].mrz or "").split("\n")
    wrong = str((int(second[19]) + 3) % 10)
    forged.documents[0].mrz = f"{first}\n{second[:19]}{wrong}{second[20:]}"
    planted["bad_check_digit"] = forged.key
    forged.booking_ref = "PNRSOLO2"
    for key in (listed.key, companion.key, stolen.key, forged.key):
        traveller = next(t for t in travellers if t.key == key)
        traveller.one_way, traveller.itinerary = False, ()
    return GeneratedFlight(
        movement=movement,
        travellers=travellers,
        watchlist=watchlist,
        lost_stolen=lost_stolen,
        planted=planted,
    )
