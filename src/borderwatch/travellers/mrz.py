"""Machine-readable zones of travel documents (ICAO Doc 9303, parts 3-7), read and checked.

Written from the ICAO specification, not from any other MRZ library. Five layouts:

====== ===== ====== ============================================================
format lines length documents
====== ===== ====== ============================================================
TD1    3     30     identity cards, residence permits (Doc 9303 part 5)
TD2    2     36     identity cards, older travel documents (part 6)
TD3    2     44     passports (part 4)
MRVA   2     44     visas, full size (part 7)
MRVB   2     36     visas, reduced size (part 7)
====== ===== ====== ============================================================

Check digits use the 7-3-1 weights over character values (``0``-``9`` as themselves, ``A``-``Z`` as 10-35,
the filler ``<`` as 0), modulo 10. A result is ``valid`` when every check digit of its layout holds; the
names of the failing ones are in ``failed_checks``. Field problems that no check digit covers (an impossible
date, a country code that is not an ICAO code, an unknown sex marker) are listed apart in ``problems``.

The 7-3-1 scheme cannot see a substitution between characters of equal value modulo 10 (``0``, ``A``,
``K``, ``U`` and ``<`` all weigh 0 modulo 10): in an alphanumeric field such a change passes every check
digit. Date fields are digits only, so a letter or a stray filler there fails that date's check.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal

from borderwatch.core.errors import BorderwatchError

MrzFormat = Literal["TD1", "TD2", "TD3", "MRVA", "MRVB"]

FILLER = "<"
_ALPHABET = re.compile(r"^[A-Z0-9<]+$")
_WEIGHTS = (7, 3, 1)

# Doc 9303 part 3, 5: codes that are not ISO 3166-1 alpha-3 but may stand as issuing state or nationality.
SPECIAL_CODES: dict[str, str] = {
    "D": "Germany",
    "EUE": "European Union",
    "GBD": "British Overseas Territories Citizen",
    "GBN": "British National (Overseas)",
    "GBO": "British Overseas Citizen",
    "GBP": "British Protected Person",
    "GBS": "British Subject",
    "UNO": "United Nations Organization or one of its officials",
    "UNA": "Specialized agency of the United Nations or one of its officials",
    "UNK": "Resident of Kosovo to whom a travel document has been issued by UNMIK",
    "XBA": "African Development Bank",
    "XIM": "African Export-Import Bank",
    "XCC": "Caribbean Community or one of its emissaries",
    "XCE": "Council of Europe",
    "XCO": "Common Market for Eastern and Southern Africa",
    "XEC": "Economic Community of West African States",
    "XPO": "International Criminal Police Organization",
    "XES": "Organisation of Eastern Caribbean States",
    "XMP": "Parliamentary Assembly of the Mediterranean",
    "XOM": "Sovereign Military Order of Malta",
    "XDC": "Southern African Development Community",
    "XXA": "Stateless person (1954 Convention)",
    "XXB": "Refugee (1951 Convention)",
    "XXC": "Refugee (other than the 1951 Convention)",
    "XXX": "Unspecified nationality",
    # Doc 9303's own specimens are issued by the fictional state of Utopia.
    "UTO": "Utopia (ICAO specimen state)",
}
# Issuers that are organisations, not states: their documents' holders have any nationality.
ORGANISATION_ISSUERS = frozenset(
    {"EUE", "UNO", "UNA", "UNK", "XBA", "XIM", "XCC", "XCE", "XCO", "XEC", "XPO", "XES", "XMP", "XOM", "XDC"}
)
# Nationality codes a state issues to people who are not (or not fully) its citizens.
NON_CITIZEN_NATIONALITIES = frozenset({"XXA", "XXB", "XXC", "XXX"})
BRITISH_NATIONALITIES = frozenset({"GBD", "GBN", "GBO", "GBP", "GBS"})

# Check names, as they appear in ``failed_checks``.
DOCUMENT_NUMBER = "document_number"
BIRTH_DATE = "birth_date"
EXPIRY_DATE = "expiry_date"
PERSONAL_NUMBER = "personal_number"
COMPOSITE = "composite"

_LAYOUTS: dict[tuple[int, int], tuple[MrzFormat, ...]] = {
    (3, 30): ("TD1",),
    (2, 36): ("TD2", "MRVB"),
    (2, 44): ("TD3", "MRVA"),
}


class MrzError(BorderwatchError, ValueError):
    """A text that is not a machine-readable zone; the message says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class MrzResult:
    """The fields of an MRZ as printed (dates ``YYMMDD``), and the outcome of its checks."""

    format: MrzFormat
    document_code: str
    issuing_state: str
    document_number: str
    surname: str
    given_names: str
    nationality: str
    birth_date: str
    sex: str
    expiry_date: str
    optional_data: str
    optional_data_2: str
    valid: bool
    failed_checks: tuple[str, ...]
    problems: tuple[str, ...]
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def name(self) -> str:
        """Given names then surname, as a person would write them."""
        return " ".join(part for part in (self.given_names, self.surname) if part)

    @property
    def document_type(self) -> str:
        """``passport``, ``visa``, ``identity_card``, ``residence_permit`` or ``travel_document``."""
        first = self.document_code[:1]
        if self.format in ("MRVA", "MRVB"):
            return "visa"
        if first == "P":
            return "passport"
        if first == "I" and self.document_code[1:2] != "R":
            return "identity_card"
        if first in ("A", "C", "I") and self.document_code[1:2] in ("R", "P"):
            return "residence_permit"
        return "travel_document"

    def as_dict(self) -> dict[str, object]:
        return {
            "format": self.format,
            "document_code": self.document_code,
            "document_type": self.document_type,
            "issuing_state": self.issuing_state,
            "document_number": self.document_number,
            "surname": self.surname,
            "given_names": self.given_names,
            "nationality": self.nationality,
            "birth_date": self.birth_date,
            "sex": self.sex,
            "expiry_date": self.expiry_date,
            "optional_data": self.optional_data,
            "optional_data_2": self.optional_data_2,
            "valid": self.valid,
            "failed_checks": list(self.failed_checks),
            "problems": list(self.problems),
            "lines": list(self.lines),
        }


def char_value(char: str) -> int:
    """The value of one MRZ character in the check digit sum."""
    if char == FILLER:
        return 0
    if "0" <= char <= "9":
        return ord(char) - 48
    if "A" <= char <= "Z":
        return ord(char) - 55
    raise MrzError(f"{char!r} is not an MRZ character (A-Z, 0-9 and < only)")


_VALUES = {char: char_value(char) for char in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"}


def check_digit(field: str) -> str:
    """The ICAO 9303 check digit of ``field`` (7-3-1 weights, modulo 10), as a character."""
    try:
        total = sum(_VALUES[char] * _WEIGHTS[index % 3] for index, char in enumerate(field))
    except KeyError:
        bad = next(char for char in field if char not in _VALUES)
        raise MrzError(f"{bad!r} is not an MRZ character (A-Z, 0-9 and < only)") from None
    return str(total % 10)


@cache
def _iso_alpha3() -> frozenset[str]:
    import pycountry

    return frozenset(country.alpha_3 for country in pycountry.countries)


def is_icao_code(code: str) -> bool:
    """Whether ``code`` (fillers stripped) is an ISO 3166-1 alpha-3 or ICAO special nationality/state code."""
    code = code.rstrip(FILLER)
    return code in SPECIAL_CODES or code in _iso_alpha3()


def code_name(code: str) -> str | None:
    """The country or organisation an ICAO code stands for, if known."""
    code = code.rstrip(FILLER)
    if code in SPECIAL_CODES:
        return SPECIAL_CODES[code]
    if code in _iso_alpha3():
        import pycountry

        found = pycountry.countries.get(alpha_3=code)
        return str(found.name) if found is not None else None
    return None


def nationality_consistent(*, document_code: str, issuing_state: str, nationality: str) -> bool:
    """Whether a document's issuing state may issue it to a holder of this nationality.

    Passports and identity cards are issued to a state's own nationals; the exceptions are organisations
    (UN, EU, ...), travel documents for stateless people and refugees (``XXA``/``XXB``/``XXC``/``XXX``),
    British nationality classes issued by ``GBR``, visas and residence permits (issued to foreigners).
    """
    state = issuing_state.rstrip(FILLER)
    nat = nationality.rstrip(FILLER)
    if state == nat or state in ORGANISATION_ISSUERS or nat in NON_CITIZEN_NATIONALITIES:
        return True
    if state == "GBR" and nat in BRITISH_NATIONALITIES:
        return True
    first, second = document_code[:1], document_code[1:2]
    if first == "V":
        return True
    return first in ("A", "C", "I") and second in ("R", "P")


def _valid_date(value: str, *, allow_unknown: bool) -> bool:
    if not re.fullmatch(r"\d{6}", value):
        # Doc 9303 part 3: an unknown birth day or month is filled with '<'.
        if allow_unknown and re.fullmatch(r"\d{2}(\d{2}|<<)<<", value):
            return value[2:4] == "<<" or 1 <= int(value[2:4]) <= 12
        return False
    month, day = int(value[2:4]), int(value[4:6])
    if not 1 <= month <= 12:
        return False
    yy = int(value[:2])
    for century in (1900, 2000):
        try:
            dt.date(century + yy, month, day)
        except ValueError:
            continue
        return True
    return False


def _yymmdd(value: str) -> tuple[int, int, int] | None:
    if not re.fullmatch(r"\d{6}", value):
        return None
    return int(value[:2]), int(value[2:4]), int(value[4:6])


def _day(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def birth_date_of(value: str, *, today: dt.date | None = None) -> dt.date | None:
    """A ``YYMMDD`` birth date in the most recent century that does not put it in the future."""
    parts = _yymmdd(value)
    if parts is None:
        return None
    today = today or dt.date.today()
    yy, month, day = parts
    year = 2000 + yy if 2000 + yy <= today.year else 1900 + yy
    born = _day(year, month, day)
    if born is not None and born > today:
        return _day(year - 100, month, day)
    return born


def expiry_date_of(value: str, *, today: dt.date | None = None) -> dt.date | None:
    """A ``YYMMDD`` expiry date: documents run at most a few decades, so the century nearest ``today``."""
    parts = _yymmdd(value)
    if parts is None:
        return None
    today = today or dt.date.today()
    yy, month, day = parts
    base = today.year - today.year % 100
    year = min((base - 100 + yy, base + yy, base + 100 + yy), key=lambda y: abs(y - (today.year + 10)))
    return _day(year, month, day)


def split_name(field: str) -> tuple[str, str]:
    """Surname and given names of a name field: ``ERIKSSON<<ANNA<MARIA`` → ``ERIKSSON``, ``ANNA MARIA``."""
    body = field.rstrip(FILLER)
    primary, _, secondary = body.partition("<<")
    surname = " ".join(part for part in primary.split(FILLER) if part)
    given = " ".join(part for part in secondary.split(FILLER) if part)
    return surname, given


def _normalise_lines(text: str) -> list[str]:
    if not isinstance(text, str):
        raise MrzError(f"an MRZ is text, not {type(text).__name__}")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) == 1 and len(lines[0]) in (60, 72, 88, 90):
        # One unbroken string: the layouts' total lengths do not collide.
        single = lines[0]
        width = {60: 30, 72: 36, 88: 44, 90: 30}[len(single)]
        lines = [single[i : i + width] for i in range(0, len(single), width)]
        if len(lines) == 2 and width == 30:
            raise MrzError("60 characters on one line is not an MRZ layout (TD1 has 3 lines of 30)")
    if not lines:
        raise MrzError("an MRZ needs 2 or 3 lines; the text is empty")
    for number, line in enumerate(lines, start=1):
        if not _ALPHABET.fullmatch(line):
            bad = next(char for char in line if not _ALPHABET.fullmatch(char))
            raise MrzError(f"line {number} holds {bad!r}: an MRZ has only A-Z, 0-9 and < (upper case)")
    shape = (len(lines), len(lines[0]))
    if shape not in _LAYOUTS or any(len(line) != shape[1] for line in lines):
        lengths = ", ".join(str(len(line)) for line in lines)
        raise MrzError(
            f"{len(lines)} line(s) of {lengths} characters is not an MRZ layout "
            "(TD1: 3 x 30, TD2/MRV-B: 2 x 36, TD3/MRV-A: 2 x 44)"
        )
    return lines


def _detect(lines: list[str]) -> MrzFormat:
    options = _LAYOUTS[(len(lines), len(lines[0]))]
    first = lines[0][0]
    if not "A" <= first <= "Z":
        raise MrzError(f"line 1 starts with {first!r}: a document code starts with a letter")
    if len(options) == 1:
        return options[0]
    return options[1] if first == "V" else options[0]


class _Checker:
    def __init__(self) -> None:
        self.failed: list[str] = []
        self.problems: list[str] = []

    def digit(self, name: str, field: str, digit: str, *, filler_ok: bool = False) -> None:
        if filler_ok and digit in (FILLER, "0") and set(field) <= {FILLER}:
            return
        if digit != check_digit(field):
            self.failed.append(name)

    def date(self, name: str, check: str, value: str, *, allow_unknown: bool) -> None:
        if _valid_date(value, allow_unknown=allow_unknown):
            return
        self.problems.append(f"{name} {value!r} is not a date (YYMMDD)")
        # A date is digits (or, for an unknown birth day or month, fillers in their place): anything else
        # cannot be verified by its check digit, which 7-3-1 cannot tell from a digit of equal value (A/0).
        shaped = re.fullmatch(r"\d{6}", value) or (
            allow_unknown and re.fullmatch(r"\d{2}(\d{2}|<<)<<", value)
        )
        if not shaped and check not in self.failed:
            self.failed.append(check)

    def code(self, name: str, value: str) -> None:
        if not is_icao_code(value):
            self.problems.append(f"{name} {value!r} is not an ICAO country or organisation code")

    def sex(self, value: str) -> None:
        if value not in ("M", "F", "X", FILLER):
            self.problems.append(f"sex {value!r} is not M, F, X or <")


def _long_number(head: str, digit: str, optional: str) -> tuple[str, str, str, str]:
    """Number, its check digit, the optional data left and the text the check covers (TD1/TD2 overflow).

    Doc 9303 parts 5 and 6: a number longer than 9 characters shows its first 9, then a filler where the
    check digit would be, and continues at the start of the optional data, followed by its check digit.
    """
    if digit != FILLER or not optional or optional[0] == FILLER:
        return head.rstrip(FILLER), digit, optional, head
    tail, _, _ = optional.partition(FILLER)
    number = head + tail[:-1]
    rest = optional[len(tail) + 1 :] if len(tail) < len(optional) else ""
    return number, tail[-1], rest, number


def _td1(lines: list[str], checks: _Checker) -> dict[str, str]:
    l1, l2, l3 = lines
    number, digit, optional, covered = _long_number(l1[5:14], l1[14], l1[15:30])
    checks.digit(DOCUMENT_NUMBER, covered, digit)
    checks.digit(BIRTH_DATE, l2[0:6], l2[6])
    checks.digit(EXPIRY_DATE, l2[8:14], l2[14])
    checks.digit(COMPOSITE, l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29])
    surname, given = split_name(l3)
    return {
        "document_code": l1[0:2],
        "issuing_state": l1[2:5],
        "document_number": number,
        "optional_data": optional.strip(FILLER),
        "birth_date": l2[0:6],
        "sex": l2[7],
        "expiry_date": l2[8:14],
        "nationality": l2[15:18],
        "optional_data_2": l2[18:29].strip(FILLER),
        "surname": surname,
        "given_names": given,
    }


def _two_line(lines: list[str], fmt: MrzFormat, checks: _Checker) -> dict[str, str]:
    l1, l2 = lines
    width = len(l1)
    optional = l2[28:width]
    if fmt == "TD3":
        personal, personal_digit = l2[28:42], l2[42]
        checks.digit(PERSONAL_NUMBER, personal, personal_digit, filler_ok=True)
        optional = personal
    elif fmt == "TD2":
        optional = l2[28:35]
    number, digit, optional_left = l2[0:9].rstrip(FILLER), l2[9], optional
    covered = l2[0:9]
    if fmt == "TD2":
        number, digit, optional_left, covered = _long_number(l2[0:9], l2[9], optional)
    checks.digit(DOCUMENT_NUMBER, covered, digit)
    checks.digit(BIRTH_DATE, l2[13:19], l2[19])
    checks.digit(EXPIRY_DATE, l2[21:27], l2[27])
    if fmt in ("TD2", "TD3"):
        checks.digit(COMPOSITE, l2[0:10] + l2[13:20] + l2[21 : width - 1], l2[width - 1])
    surname, given = split_name(l1[5:])
    return {
        "document_code": l1[0:2],
        "issuing_state": l1[2:5],
        "document_number": number,
        "optional_data": optional_left.strip(FILLER),
        "birth_date": l2[13:19],
        "sex": l2[20],
        "expiry_date": l2[21:27],
        "nationality": l2[10:13],
        "optional_data_2": "",
        "surname": surname,
        "given_names": given,
    }


def read_mrz(text: str) -> MrzResult:
    """Parse and check an MRZ given as its lines joined by newlines.

    Surrounding whitespace and blank lines are ignored; anything else that is not an MRZ of one of the five
    layouts raises ``MrzError`` saying why. Check digit failures and field problems do not raise: they are
    reported in ``failed_checks`` and ``problems``.
    """
    if not isinstance(text, str):
        raise MrzError(f"an MRZ is text, not {type(text).__name__}")
    return _read_mrz(text)


@lru_cache(maxsize=8192)
def _read_mrz(text: str) -> MrzResult:
    lines = _normalise_lines(text)
    fmt = _detect(lines)
    checks = _Checker()
    fields = _td1(lines, checks) if fmt == "TD1" else _two_line(lines, fmt, checks)
    code = fields["document_code"]
    if fmt in ("MRVA", "MRVB") and code[0] != "V":
        raise MrzError(f"a visa's document code starts with V, not {code[0]!r}")
    if fmt == "TD3" and code[0] != "P":
        checks.problems.append(f"document code {code!r}: a TD3 travel document's code starts with P")
    if fmt in ("TD1", "TD2") and code[0] not in ("A", "C", "I"):
        checks.problems.append(f"document code {code!r}: a TD1/TD2 document's code starts with A, C or I")
    checks.code("issuing state", fields["issuing_state"])
    checks.code("nationality", fields["nationality"])
    checks.date("birth date", BIRTH_DATE, fields["birth_date"], allow_unknown=True)
    checks.date("expiry date", EXPIRY_DATE, fields["expiry_date"], allow_unknown=False)
    checks.sex(fields["sex"])
    if not fields["surname"]:
        checks.problems.append("the name field has no primary identifier (surname)")
    return MrzResult(
        format=fmt,
        document_code=code.rstrip(FILLER),
        issuing_state=fields["issuing_state"].rstrip(FILLER),
        document_number=fields["document_number"],
        surname=fields["surname"],
        given_names=fields["given_names"],
        nationality=fields["nationality"].rstrip(FILLER),
        birth_date=fields["birth_date"],
        sex=fields["sex"],
        expiry_date=fields["expiry_date"],
        optional_data=fields["optional_data"],
        optional_data_2=fields["optional_data_2"],
        valid=not checks.failed,
        failed_checks=tuple(checks.failed),
        problems=tuple(checks.problems),
        lines=tuple(lines),
    )


# Doc 9303 part 3, section 6: the recommended transliteration of Latin letters with marks and of Cyrillic.
_LATIN_MULTI = {
    "Ä": "AE",
    "Å": "AA",
    "Æ": "AE",
    "Ö": "OE",
    "Ø": "OE",
    "Ü": "UE",
    "ß": "SS",
    "Þ": "TH",
    "Ĳ": "IJ",
    "Œ": "OE",
    "Ð": "D",
    "Đ": "D",
    "Ł": "L",
    "Ħ": "H",
    "Ŋ": "N",
    "Ŧ": "T",
    "ı": "I",
}
_CYRILLIC = {
    "А": "A",
    "Б": "B",
    "В": "V",
    "Г": "G",
    "Ґ": "G",
    "Д": "D",
    "Е": "E",
    "Ё": "E",
    "Є": "IE",
    "Ж": "ZH",
    "З": "Z",
    "И": "I",
    "І": "I",
    "Ї": "I",
    "Й": "I",
    "К": "K",
    "Л": "L",
    "М": "M",
    "Н": "N",
    "О": "O",
    "П": "P",
    "Р": "R",
    "С": "S",
    "Т": "T",
    "У": "U",
    "Ф": "F",
    "Х": "KH",
    "Ц": "TS",
    "Ч": "CH",
    "Ш": "SH",
    "Щ": "SHCH",
    "Ъ": "IE",
    "Ы": "Y",
    "Ь": "",
    "Э": "E",
    "Ю": "IU",
    "Я": "IA",
    "Ђ": "D",
    "Ѓ": "G",
    "Ѕ": "DZ",
    "Ј": "J",
    "Љ": "LJ",
    "Њ": "NJ",
    "Ќ": "K",
    "Ћ": "C",
    "Ў": "U",
    "Џ": "DZ",
}


def transliterate(text: str) -> str:
    """A name in MRZ letters: Doc 9303's tables for Latin marks and Cyrillic, ASCII folding for the rest.

    Spaces, hyphens and apostrophes become fillers' word breaks (a space); other punctuation is dropped.
    """
    from anyascii import anyascii

    out: list[str] = []
    for char in text.upper():
        if char in _LATIN_MULTI:
            out.append(_LATIN_MULTI[char])
        elif char in _CYRILLIC:
            out.append(_CYRILLIC[char])
        elif "A" <= char <= "Z" or char == " ":
            out.append(char)
        elif char in "-'‐’,":
            out.append(" ")
        else:
            folded = str(anyascii(char)).upper()
            out.append("".join(c for c in folded if "A" <= c <= "Z" or c == " "))
    return " ".join("".join(out).split())


def name_field(surname: str, given_names: str, width: int) -> str:
    """The MRZ name field: surname parts joined by ``<``, then ``<<``, then given names; padded or cut."""
    primary = FILLER.join(transliterate(surname).split())
    secondary = FILLER.join(transliterate(given_names).split())
    body = f"{primary}<<{secondary}" if secondary else primary
    return body[:width].ljust(width, FILLER)


def _field(value: str, width: int) -> str:
    value = value.upper().replace(" ", FILLER)
    if len(value) > width:
        raise ValueError(f"{value!r} is longer than its {width}-character field")
    return value.ljust(width, FILLER)


def compose_mrz(
    *,
    fmt: MrzFormat,
    document_number: str,
    issuing_state: str,
    nationality: str,
    surname: str,
    given_names: str,
    birth_date: str,
    sex: str,
    expiry_date: str,
    document_code: str | None = None,
    optional_data: str = "",
    optional_data_2: str = "",
) -> str:
    """An MRZ with correct check digits (for test data and generated traffic), its lines joined by newlines.

    TD1 and TD2 numbers longer than 9 characters overflow into the optional data as Doc 9303 says.
    """
    code = _field(document_code or {"TD3": "P", "MRVA": "V", "MRVB": "V"}.get(fmt, "I"), 2)
    state, nat = _field(issuing_state, 3), _field(nationality, 3)
    dob, doe, sx = _field(birth_date, 6), _field(expiry_date, 6), _field(sex, 1)
    if fmt == "TD1":
        number_field, number_digit, optional = _numbered(document_number, optional_data, 15)
        l1 = code + state + number_field + number_digit + optional
        l2 = dob + check_digit(dob) + sx + doe + check_digit(doe) + nat + _field(optional_data_2, 11)
        l2 += check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
        return "\n".join((l1, l2, name_field(surname, given_names, 30)))
    width = 44 if fmt in ("TD3", "MRVA") else 36
    l1 = code + state + name_field(surname, given_names, width - 5)
    if fmt == "TD2":
        number_field, number_digit, optional = _numbered(document_number, optional_data, 7)
    else:
        number_field = _field(document_number, 9)
        number_digit = check_digit(number_field)
        optional = ""
    l2 = number_field + number_digit + nat + dob + check_digit(dob) + sx + doe + check_digit(doe)
    if fmt == "TD3":
        personal = _field(optional_data, 14)
        l2 += personal + ("<" if set(personal) == {FILLER} else check_digit(personal))
    elif fmt == "TD2":
        l2 += optional
    else:
        l2 += _field(optional_data, width - 28)
    if fmt in ("TD2", "TD3"):
        l2 += check_digit(l2[0:10] + l2[13:20] + l2[21:])
    return "\n".join((l1, l2))


def _numbered(number: str, optional: str, width: int) -> tuple[str, str, str]:
    number = number.upper()
    if len(number) <= 9:
        field = _field(number, 9)
        return field, check_digit(field), _field(optional, width)
    head, tail = number[:9], number[9:]
    return head, FILLER, _field(tail + check_digit(number) + FILLER + optional, width)
