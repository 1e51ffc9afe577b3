"""In-memory screening: a candidate index over every listed name and a matcher that scores and explains.

The index maps blocking keys of each name part (the part itself, its metaphone key, its first four letters,
its consonant skeleton) to the names that have them. A query collects the names sharing its keys, weighted by
how rare each key is (IDF), and only the best ``candidates`` of those are compared in full: a query never
scans the whole list. Qualifiers then raise or lower the name score: date of birth, nationality, identifier,
person versus organisation, weak alias.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from borderwatch.screening.compare import NameComparison, compare_normalized
from borderwatch.screening.entries import WatchEntry, country_code
from borderwatch.screening.normalize import (
    PERSON,
    NormalizedName,
    consonant_skeleton,
    is_org,
    normalize_name,
    phonetic_key,
)

DEFAULT_THRESHOLD = 0.7
_ALNUM = re.compile(r"[^0-9a-z]")


@dataclass(frozen=True, slots=True)
class Query:
    """What is screened: a name and what else is known about its bearer."""

    name: str
    kind: str | None = None  # person, organization, vessel...; None when unknown
    date_of_birth: str | None = None  # ISO date or year
    nationality: str | None = None  # ISO code or country name
    identifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    entity_id: str
    list_name: str
    name: str  # the entry's primary name
    matched_name: str  # the name or alias that matched
    score: float
    name_score: float
    explanation: str
    qualifiers: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {"entity_id": self.entity_id, "list": self.list_name, "name": self.name, "score": self.score}


def _keys(token: str) -> list[str]:
    keys = [f"t:{token}"]
    if len(token) >= 3 and not token.isdigit():
        keys.append(f"p:{phonetic_key(token)}")
        keys.append(f"f:{token[:4]}")
        keys.append(f"s:{consonant_skeleton(token)[:4]}")
    return keys


def _name_keys(name: NormalizedName) -> set[str]:
    keys = {k for token in name.tokens for k in _keys(token)}
    if len(name.tokens) > 1:
        keys.add(
            f"j:{name.joined}"
        )  # the same letters spaced differently ("laurent nkunda" / "lauren tnkunda")
    return keys


def _date_qualifier(query_dob: str, dobs: Sequence[str]) -> tuple[float, str]:
    query_year = query_dob[:4]
    best = (-0.35, f"date of birth {query_dob} differs from {', '.join(dobs[:3])}")
    for dob in dobs:
        if dob[:4] == query_year:
            if len(dob) >= 10 and len(query_dob) >= 10:
                if dob[:10] == query_dob[:10]:
                    return 0.1, f"date of birth {dob} matches"
                best = max(best, (-0.05, f"year of birth {query_year} matches, day differs"))
            else:
                best = max(best, (0.05, f"year of birth {query_year} matches"))
        elif dob[:4].isdigit() and query_year.isdigit() and abs(int(dob[:4]) - int(query_year)) <= 1:
            best = max(best, (0.0, f"year of birth {dob[:4]} is one year from {query_year}"))
    return best


class Matcher:
    """Screens queries against a fixed set of watchlist entries."""

    def __init__(
        self,
        entries: Iterable[WatchEntry],
        *,
        candidates: int = 12,
        min_coverage: float = 0.5,
        max_postings: int = 1500,
    ) -> None:
        self.entries: list[WatchEntry] = list(entries)
        self.candidates = candidates
        self.min_coverage = min_coverage
        self.max_postings = max_postings
        self._names: list[tuple[int, NormalizedName, str, bool]] = []  # entry, normalised, text, weak
        postings: dict[str, list[int]] = defaultdict(list)
        for entry_index, entry in enumerate(self.entries):
            kind = "organization" if is_org(entry.kind) else PERSON
            seen: set[str] = set()
            for alias in entry.names():
                normalized = normalize_name(alias.name, kind)
                if not normalized.tokens or normalized.text in seen:
                    continue
                seen.add(normalized.text)
                name_index = len(self._names)
                self._names.append((entry_index, normalized, alias.name, alias.weak))
                for key in _name_keys(normalized):
                    postings[key].append(name_index)
        total = max(len(self._names), 1)
        self._postings: dict[str, npt.NDArray[np.int32]] = {
            key: np.asarray(ids, dtype=np.int32) for key, ids in postings.items()
        }
        self._idf: dict[str, float] = {key: math.log(total / len(ids)) + 0.1 for key, ids in postings.items()}
        self._identifiers: dict[str, list[int]] = defaultdict(list)
        for entry_index, entry in enumerate(self.entries):
            for identifier in entry.identifiers:
                value = _ALNUM.sub("", identifier.value.lower())
                if len(value) >= 5:
                    self._identifiers[value].append(entry_index)

    @property
    def name_count(self) -> int:
        return len(self._names)

    def candidate_names(self, query: NormalizedName) -> list[int]:
        """Indices of the names worth comparing with ``query``.

        Names are ranked by the summed rarity (IDF) of the blocking keys they share with the query; a name
        must share at least ``min_coverage`` of the query's key weight, and at most ``candidates`` are kept.
        Keys shared by more than ``max_postings`` names are used only when the query has no rarer key.
        """
        keys = [k for k in _name_keys(query) if k in self._postings]
        if not keys:
            return []
        total = sum(self._idf[k] for k in keys)
        rare = [k for k in keys if len(self._postings[k]) <= self.max_postings]
        used = rare or keys
        ids = np.concatenate([self._postings[k] for k in used])
        weights = np.concatenate([np.full(len(self._postings[k]), self._idf[k]) for k in used])
        unique, inverse = np.unique(ids, return_inverse=True)
        scores = np.bincount(inverse, weights=weights)
        keep = np.flatnonzero(scores >= self.min_coverage * total)
        if len(keep) > self.candidates:
            keep = keep[np.argpartition(-scores[keep], self.candidates)[: self.candidates]]
        keep = keep[np.argsort(-scores[keep], kind="stable")]
        return [int(unique[i]) for i in keep]

    def screen(self, query: Query, *, threshold: float = DEFAULT_THRESHOLD, limit: int = 5) -> list[Match]:
        """Matches of ``query`` scoring at least ``threshold``, best first, one per listed entry."""
        kind = query.kind or PERSON
        normalized = normalize_name(query.name, kind)
        if not normalized.tokens:
            return []
        best: dict[int, tuple[float, NameComparison, int]] = {}
        for name_index in self.candidate_names(normalized):
            entry_index, listed, _, weak = self._names[name_index]
            comparison = compare_normalized(normalized, listed)
            score = comparison.score - (0.1 if weak else 0.0)
            if entry_index not in best or score > best[entry_index][0]:
                best[entry_index] = (score, comparison, name_index)
        identifier_hits = {
            entry_index
            for identifier in query.identifiers
            for entry_index in self._identifiers.get(_ALNUM.sub("", identifier.lower()), ())
        }
        matches = []
        for entry_index, (name_score, comparison, name_index) in best.items():
            if name_score < threshold - 0.35 and entry_index not in identifier_hits:
                continue  # qualifiers cannot lift it over the threshold
            entry = self.entries[entry_index]
            score, qualifiers = self._qualify(query, entry, name_score, entry_index in identifier_hits)
            if score < threshold:
                continue
            _, _, matched_name, weak = self._names[name_index]
            explanation = comparison.explain()
            if weak:
                qualifiers = (*qualifiers, "weak alias")
            matches.append(
                Match(
                    entity_id=entry.entity_id,
                    list_name=entry.list_name,
                    name=entry.name,
                    matched_name=matched_name,
                    score=round(score, 4),
                    name_score=round(name_score, 4),
                    explanation="; ".join([f"name {comparison.score:.2f}: {explanation}", *qualifiers]),
                    qualifiers=qualifiers,
                )
            )
        matches.sort(key=lambda m: (-m.score, m.entity_id))
        return matches[:limit]

    def _qualify(
        self, query: Query, entry: WatchEntry, score: float, identifier_hit: bool
    ) -> tuple[float, tuple[str, ...]]:
        notes: list[str] = []
        if identifier_hit:
            score = max(score, 0.9) + 0.1
            notes.append("identifier matches")
        if query.date_of_birth and entry.dobs:
            delta, note = _date_qualifier(query.date_of_birth.strip(), entry.dobs)
            score += delta
            notes.append(note)
        if query.nationality and entry.nationalities:
            code = country_code(query.nationality)
            if code and code in entry.nationalities:
                score += 0.03
                notes.append(f"nationality {code} matches")
            elif code:
                score -= 0.1
                notes.append(f"nationality {code} not among {', '.join(entry.nationalities)}")
        if query.kind:
            query_org = is_org(query.kind)
            if query_org != is_org(entry.kind):
                score -= 0.3
                notes.append(f"{query.kind} screened against a listed {entry.kind}")
        return min(max(score, 0.0), 1.0), tuple(notes)
