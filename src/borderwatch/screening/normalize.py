"""Name normalisation: one canonical, comparable form for names written in any script and style.

Steps: transliterate to ASCII (anyascii), lower-case, drop apostrophes (``O'Brien`` -> ``obrien``), turn other
punctuation into spaces, then drop honorifics (persons) or legal-form words (organisations). Particles such as
``al``, ``bin``, ``van`` are kept but carry little weight when names are compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
from anyascii import anyascii
from rapidfuzz.distance import Levenshtein

PERSON = "person"
ORGANIZATION = "organization"
# Kinds that are compared like organisations (their names have no given/family structure).
ORG_KINDS = frozenset(
    {"organization", "organisation", "company", "entity", "vessel", "aircraft", "legalentity"}
)

_APOSTROPHES = re.compile(r"['`´’‘ʼʻ]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_CJK_START = 0x2E80


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


HONORIFICS = _words(
    """
    mr mrs ms miss mx dr doctor prof professor sir dame lady lord rev reverend hon sheikh shaykh
    sheik shaikh haji hajji hadji alhaji mullah mulla maulvi maulavi mawlawi mawlana maulana qari
    hafiz sayed sayyed sayyid general gen col colonel maj major capt captain lt lieutenant brigadier
    admiral sgt sergeant commander cmdr imam ayatollah hojatoleslam eng engineer
    """
)

# Legal-form words and their usual abbreviations; removed from organisation names before comparison.
LEGAL_FORMS = _words(
    """
    llc ltd limited inc incorporated corp corporation co company plc gmbh mbh ag kg kgaa sa sas sarl
    srl spa bv nv oy oyj ab asa aps pte pty jsc ojsc cjsc pjsc ooo zao oao pao tov fze fzco fzc
    fzllc llp lp sdn bhd kft zrt doo ad ead eood sro as spzoo sp zoo ltda eireli cia cie sl slu lda
    kk yk gk pvt
    obshchestvo ogranichennoi ogranichennoy otvetstvennostiu otvetstvennostyu aktsionernoe aktsionernoye
    publichnoe zakrytoe otkrytoe tovarystvo sociedad anonima responsabilidad limitada gesellschaft
    beschrankter haftung aktiengesellschaft societe anonyme sirketi    """
)
# Words that never identify an organisation on their own; low weight rather than removed.
ORG_STOPWORDS = _words(
    """
    the of and for de del la le des du das do da y et und a an trading group holding holdings
    international intl company private public establishment enterprise enterprises industrial
    industries general
    """
)
# Abbreviations common in company names, written out so both forms compare equal.
ORG_ABBREVIATIONS = {
    "mgmt": "management",
    "mgt": "management",
    "intl": "international",
    "int": "international",
    "mfg": "manufacturing",
    "bros": "brothers",
    "svc": "services",
    "svcs": "services",
    "assn": "association",
    "dev": "development",
    "natl": "national",
    "ind": "industrial",
    "eng": "engineering",
    "hk": "hong kong",
}
PARTICLES = _words(
    """
    al el ul ad ar as at az ash bin ibn bint ben ould von van der den de da di del della la le du
    dos das
    """
)


@dataclass(frozen=True, slots=True)
class NormalizedName:
    """A name ready for comparison: its tokens, which are particles, and their phonetic keys."""

    text: str
    tokens: tuple[str, ...]
    kind: str
    # The name's parts before legal forms, honorifics and abbreviations were dropped or written out: a
    # legal form typed with a typo or glued to a word (``LLANOTOURLTDA``) is still the same letters there.
    folded: tuple[str, ...] = ()
    latin: bool = True  # written in the Latin script (or ASCII) before transliteration

    @property
    def joined(self) -> str:
        return "".join(self.tokens)


def is_org(kind: str) -> bool:
    return kind.strip().lower() in ORG_KINDS


def ascii_fold(value: str) -> str:
    """ASCII transliteration of ``value``, lower-cased, punctuation turned into single spaces."""
    # Each CJK character is a syllable of its own: anyascii would run them together ("XiJinPing").
    if not value.isascii():
        value = "".join(f" {ch} " if ord(ch) >= _CJK_START else ch for ch in value)
    text = anyascii(value)
    text = _APOSTROPHES.sub("", text.lower())
    return _NON_ALNUM.sub(" ", text).strip()


def _join_letter_runs(tokens: list[str]) -> list[str]:
    """Organisation names: ``l l c`` (from ``L.L.C.``) becomes ``llc``; persons keep their initials apart."""
    out: list[str] = []
    run = ""
    for token in [*tokens, ""]:
        if len(token) == 1:
            run += token
            continue
        if run:
            out.append(run)
            run = ""
        if token:
            out.append(token)
    return out


# Legal forms long enough to be recognised when typed with a typo or glued to the word before them.
_LONG_LEGAL_FORMS = ("company", "limited", "corporation", "incorporated", "gesellschaft", "sociedad")
_GLUED_LEGAL_FORMS = ("llc", "ltd", "limited", "company", "gmbh", "inc", "corp", "corporation", "jsc", "fze")


def _is_long_legal_form(token: str) -> bool:
    if len(token) < 5:
        return False
    edits = 1 if len(token) < 9 else 2
    return any(Levenshtein.distance(token, form) <= edits for form in _LONG_LEGAL_FORMS)


def _legal_form_noise(tokens: list[str]) -> list[str]:
    """Organisation names as typed: a legal form split (``com pany``), misspelt (``limiited``) or glued to
    the word before it (``tradingllc``) is dropped like a well-typed one."""
    out: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if index + 1 < len(tokens) and _is_long_legal_form(token + tokens[index + 1]):
            index += 2
            continue
        if token not in LEGAL_FORMS and _is_long_legal_form(token):
            index += 1
            continue
        for form in _GLUED_LEGAL_FORMS:
            if token.endswith(form) and len(token) - len(form) >= 4 and token not in LEGAL_FORMS:
                token = token[: -len(form)]
                break
        out.append(token)
        index += 1
    return out


def _glued_honorific(token: str) -> str:
    """``sayyedjabar`` -> ``jabar``: an honorific typed without its space is dropped too."""
    for length in range(4, len(token) - 3):
        if token[:length] in HONORIFICS:
            return token[length:]
    return token


_LATIN_END = 0x250  # Basic Latin, Latin-1 Supplement, Latin Extended-A and -B


def is_latin(value: str) -> bool:
    """Whether every letter of ``value`` is a Latin one (accented or not)."""
    return value.isascii() or all(ord(ch) < _LATIN_END for ch in value if ch.isalpha())


@lru_cache(maxsize=200_000)
def normalize_name(value: str, kind: str = PERSON) -> NormalizedName:
    """The canonical form of ``value`` for a person (default) or an organisation-like ``kind``."""
    folded = ascii_fold(value)
    tokens = folded.split()
    if is_org(kind):
        tokens = _join_letter_runs(tokens)
    spelled = tuple(tokens)
    if is_org(kind):
        tokens = " ".join(ORG_ABBREVIATIONS.get(t, t) for t in tokens).split()
        tokens = _legal_form_noise(tokens) or tokens
    else:
        tokens = [_glued_honorific(t) for t in tokens]
    drop = LEGAL_FORMS if is_org(kind) else HONORIFICS
    kept = [t for t in tokens if t not in drop]
    if not kept:  # a name made only of such words is still a name
        kept = tokens
    text = " ".join(kept)
    return NormalizedName(
        text=text,
        tokens=tuple(kept),
        kind=ORGANIZATION if is_org(kind) else PERSON,
        folded=spelled if spelled != tuple(kept) else (),
        latin=is_latin(value),
    )


@lru_cache(maxsize=200_000)
def phonetic_key(token: str) -> str:
    """Metaphone key of one normalised token (empty for numbers)."""
    if not token or token.isdigit():
        return ""
    return str(jellyfish.metaphone(token))


_VOWELS = re.compile(r"[aeiou]")
_DOUBLES = re.compile(r"(.)\1+")


def has_vowels(token: str) -> bool:
    return _VOWELS.search(token) is not None


@lru_cache(maxsize=200_000)
def consonant_skeleton(token: str) -> str:
    """The token without vowels, semi-vowels and doubled letters, as abjads (Arabic, Persian) write it."""
    return _DOUBLES.sub(r"\1", re.sub(r"[aeiouyhw]", "", token.replace("v", "w")))


@lru_cache(maxsize=200_000)
def squeeze(token: str) -> str:
    """The token with doubled letters written once (``mohammed`` -> ``mohamed``)."""
    return _DOUBLES.sub(r"\1", token)


_TRANSLIT_DIGRAPHS = (
    ("kh", "k"),
    ("gh", "g"),
    ("ph", "f"),
    ("th", "t"),
    ("dh", "d"),
    ("sh", "s"),
    ("zh", "j"),
    ("ch", "j"),
    ("ck", "k"),
    ("ou", "u"),
    ("oo", "u"),
    ("ee", "i"),
    ("q", "k"),
    ("x", "s"),
    ("w", "v"),
)
_VOWEL_CLASS = str.maketrans("eyo", "iiu")
_INNER_H = re.compile(r"(?<=.)h")


@lru_cache(maxsize=200_000)
def transliteration_key(token: str) -> str:
    """A spelling-insensitive form of a romanised name part: the variants that transliterating Arabic,
    Cyrillic, Korean or Persian names produce (``qadhafi``/``gaddafi``, ``khaleem``/``kalim``,
    ``ruxheti``/``rushiti``) share it. Digraphs become one letter, vowels fall into three classes
    (a, i/e/y, u/o), inner ``h`` goes, doubled letters are written once.
    """
    key = token
    for digraph, letter in _TRANSLIT_DIGRAPHS:
        key = key.replace(digraph, letter)
    key = _INNER_H.sub("", key.translate(_VOWEL_CLASS))
    return _DOUBLES.sub(r"\1", key)
