"""In-memory screening: a candidate index over every listed name and a matcher that scores and explains.

The candidate index (``index.NameIndex``) proposes the listed names that share enough of the query's rare
parts, read through one-edit neighbourhoods, sound keys and re-segmentation (spaces moved, lost or added);
only the best ``candidates`` of those are compared in full: a query never scans the whole list. Qualifiers
then raise or lower the name score: date of birth, nationality, identifier, person versus organisation, weak
alias. ``Matcher.update`` re-indexes only the entries a new list version added, changed or removed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from borderwatch.screening.compare import NameComparison, compare_normalized
from borderwatch.screening.entries import WatchEntry, country_code
from borderwatch.screening.grams import GramIndex
from borderwatch.screening.identifiers import listed_key, query_key
from borderwatch.screening.index import NameIndex
from borderwatch.screening.normalize import (
    ORGANIZATION,
    PERSON,
    NormalizedName,
    ascii_fold,
    is_org,
    normalize_name,
)

DEFAULT_THRESHOLD = 0.86  # recall 0.984 at 0.47 % FPR on the OFAC noise set: docs/decisions/screening-0003-*
ADDRESS_MATCH = 90  # token_set_ratio of the folded address texts


@dataclass(frozen=True, slots=True)
class Query:
    """What is screened: a name and what else is known about its bearer."""

    name: str
    kind: str | None = None  # person, organization, vessel...; None when unknown
    date_of_birth: str | None = None  # ISO date or year
    nationality: str | None = None  # ISO code or country name
    identifiers: tuple[str, ...] = ()  # "IMO 9187629", "tax:123-45", or untyped values (see identifiers)
    address: str | None = None


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


def _address_similarity(address: str, entry: WatchEntry) -> float:
    wanted = ascii_fold(address)
    return max(float(fuzz.token_set_ratio(wanted, ascii_fold(a.text))) for a in entry.addresses)


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


@dataclass(frozen=True, slots=True)
class Channels:
    """How the two candidate channels are used: the trigram index always (its ``gram_candidates`` best
    names of a Jaccard similarity of at least ``min_gram_similarity``), the part index for a query
    shorter than ``part_index_below`` letters or whose best trigram similarity is under
    ``part_index_floor`` (short names have too few trigrams; a long name the trigrams found close needs
    no second opinion). Measured in ``docs/decisions/screening-0002-trigram-channel.md``."""

    gram_candidates: int = 16
    min_gram_similarity: float = 0.2
    part_index_below: int = 12
    part_index_floor: float = 0.5


class Matcher:
    """Screens queries against a set of watchlist entries, updated in place when a list version changes."""

    def __init__(
        self,
        entries: Iterable[WatchEntry] = (),
        *,
        candidates: int = 8,
        min_coverage: float = 0.4,
        long_coverage: float = 0.5,
        channels: Channels | None = None,
        batch: int = 20_000,
    ) -> None:
        self.candidates = candidates
        self.min_coverage = min_coverage
        self.long_coverage = long_coverage
        self.channels = channels or Channels()
        self.entries: list[WatchEntry] = []
        self._slot: dict[str, int] = {}  # entity id -> index in ``entries`` of its current version
        self._entry_names: list[list[int]] = []
        self._name_entry: list[int] = []
        self._name_text: list[str] = []
        self._name_raw: list[str] = []
        self._name_folded: list[str] = []  # NormalizedName.folded, "" when the same as the tokens
        self._name_latin: list[bool] = []
        self._name_weak: list[bool] = []
        self._name_kind: list[str] = []
        self._index = NameIndex()
        self._grams = GramIndex()
        self._identifiers: dict[str, set[int]] = defaultdict(set)  # "kind:value" -> entry slots
        self._untyped: dict[str, set[int]] = defaultdict(set)  # value -> entry slots, any kind
        self.update(entries, batch=batch)

    def update(
        self, entries: Iterable[WatchEntry] = (), *, removed: Iterable[str] = (), batch: int = 20_000
    ) -> int:
        """Index new and changed ``entries`` (a changed entry replaces its earlier version) and drop the
        ``removed`` entity ids; only these are (re)indexed. Returns how many entries were indexed."""
        for entity_id in removed:
            self._drop(entity_id)
        count = 0
        for entry in entries:
            self._drop(entry.entity_id)
            self._add(entry)
            count += 1
            if count % batch == 0:
                self._index.commit()
                self._grams.commit()
        self._index.commit()
        self._grams.commit()
        return count

    def _drop(self, entity_id: str) -> None:
        slot = self._slot.pop(entity_id, None)
        if slot is None:
            return
        self._index.remove(self._entry_names[slot])
        self._grams.remove(self._entry_names[slot])
        for identifier in self.entries[slot].identifiers:
            key = listed_key(identifier.type, identifier.value)
            if key is not None:
                self._identifiers.get(key.key, set()).discard(slot)
                self._untyped.get(key.value, set()).discard(slot)

    def _add(self, entry: WatchEntry) -> None:
        slot = len(self.entries)
        self.entries.append(entry)
        self._slot[entry.entity_id] = slot
        kind = ORGANIZATION if is_org(entry.kind) else PERSON
        seen: set[str] = set()
        names: list[int] = []
        for alias in entry.names():
            normalized = normalize_name(alias.name, kind)
            if not normalized.tokens or normalized.text in seen:
                continue
            seen.add(normalized.text)
            name_id = self._index.add(normalized.tokens)
            self._grams.add(name_id, normalized.tokens)
            names.append(name_id)
            self._name_entry.append(slot)
            self._name_text.append(normalized.text)
            self._name_raw.append(alias.name)
            self._name_folded.append(" ".join(normalized.folded))
            self._name_latin.append(normalized.latin)
            self._name_weak.append(alias.weak)
            self._name_kind.append(kind)
        self._entry_names.append(names)
        for identifier in entry.identifiers:
            key = listed_key(identifier.type, identifier.value)
            if key is not None:
                self._identifiers[key.key].add(slot)
                if len(key.value) >= 5:
                    self._untyped[key.value].add(slot)

    @property
    def name_count(self) -> int:
        return self._index.name_count

    @property
    def entry_count(self) -> int:
        return len(self._slot)

    def index_memory_bytes(self) -> int:
        return self._index.memory_bytes() + self._grams.memory_bytes()

    def entry_of_name(self, name_id: int) -> WatchEntry:
        return self.entries[self._name_entry[name_id]]

    def listed_name(self, name_id: int) -> NormalizedName:
        text = self._name_text[name_id]
        folded = self._name_folded[name_id]
        return NormalizedName(
            text=text,
            tokens=tuple(text.split()),
            kind=self._name_kind[name_id],
            folded=tuple(folded.split()),
            latin=self._name_latin[name_id],
        )

    def candidate_names(self, query: NormalizedName) -> list[int]:
        """Ids of the listed names worth comparing with ``query``: at most ``gram_candidates`` from the
        trigram index, then at most ``candidates`` more from the part index when the query is short or
        the trigrams found nothing close (see ``Channels``)."""
        channels = self.channels
        grams = self._grams.candidates(
            query.joined, limit=channels.gram_candidates, min_similarity=channels.min_gram_similarity
        )
        found = [name_id for name_id, _ in grams]
        best = grams[0][1] if grams else 0.0
        short = len(query.joined) < channels.part_index_below
        if short or best < channels.part_index_floor:
            seen = set(found)
            parts = self._index.candidates(
                query.tokens,
                person=query.kind == PERSON,
                limit=self.candidates + len(found),
                min_coverage=self.min_coverage if short else self.long_coverage,
            )
            found.extend([name_id for name_id in parts if name_id not in seen][: self.candidates])
        return found

    def _identifier_hits(self, query: Query) -> dict[int, str]:
        """Entry slots whose identifiers match one of the query's, with what matched."""
        hits: dict[int, str] = {}
        for identifier in query.identifiers:
            key = query_key(identifier)
            if key.problem:
                continue
            if key.kind:
                slots = self._identifiers.get(f"{key.kind}:{key.value}", set())
            else:
                slots = self._untyped.get(key.value, set()) if len(key.value) >= 5 else set()
            for slot in slots:
                hits.setdefault(slot, f"{key.kind or 'identifier'} {key.value} matches")
        return hits

    def screen(self, query: Query, *, threshold: float = DEFAULT_THRESHOLD, limit: int = 5) -> list[Match]:
        """Matches of ``query`` scoring at least ``threshold``, best first, one per listed entry."""
        kind = query.kind or PERSON
        normalized = normalize_name(query.name, kind)
        if not normalized.tokens:
            return []
        best: dict[int, tuple[float, NameComparison, int]] = {}
        for name_id in self.candidate_names(normalized):
            slot = self._name_entry[name_id]
            comparison = compare_normalized(normalized, self.listed_name(name_id))
            score = comparison.score - (0.1 if self._name_weak[name_id] else 0.0)
            if slot not in best or score > best[slot][0]:
                best[slot] = (score, comparison, name_id)
        identifier_hits = self._identifier_hits(query)
        for slot in set(identifier_hits) - set(best):
            entry = self.entries[slot]
            name_id = self._entry_names[slot][0] if self._entry_names[slot] else -1
            if name_id >= 0:
                comparison = compare_normalized(normalized, self.listed_name(name_id))
                best[slot] = (comparison.score, comparison, name_id)
        matches = []
        for slot, (name_score, comparison, name_id) in best.items():
            if name_score < threshold - 0.35 and slot not in identifier_hits:
                continue  # qualifiers cannot lift it over the threshold
            entry = self.entries[slot]
            score, qualifiers = self._qualify(query, entry, name_score, identifier_hits.get(slot))
            if score < threshold:
                continue
            weak = self._name_weak[name_id]
            explanation = comparison.explain()
            if weak:
                qualifiers = (*qualifiers, "weak alias")
            matches.append(
                Match(
                    entity_id=entry.entity_id,
                    list_name=entry.list_name,
                    name=entry.name,
                    matched_name=self._name_raw[name_id],
                    score=round(score, 4),
                    name_score=round(name_score, 4),
                    explanation="; ".join([f"name {comparison.score:.2f}: {explanation}", *qualifiers]),
                    qualifiers=qualifiers,
                )
            )
        matches.sort(key=lambda m: (-m.score, m.entity_id))
        return matches[:limit]

    def _qualify(
        self, query: Query, entry: WatchEntry, score: float, identifier_hit: str | None
    ) -> tuple[float, tuple[str, ...]]:
        notes: list[str] = []
        if identifier_hit:
            score = max(score, 0.9) + 0.1
            notes.append(identifier_hit)
        notes.extend(p for i in query.identifiers if (p := query_key(i).problem))
        if query.address and entry.addresses:
            similarity = _address_similarity(query.address, entry)
            if similarity >= ADDRESS_MATCH:
                score += 0.05
                notes.append(f"address matches ({similarity:.0f})")
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
