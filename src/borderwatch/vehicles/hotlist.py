"""Hotlist matching that forgives what ANPR gets wrong: look-alike characters and one missed or extra one.

The index holds each listed plate under its confusion key (``plates.confusion_key``) and under every key
with one character deleted (the deletion neighbourhood of SymSpell, Garbe 2012). A read then costs a few
dictionary look-ups whatever the size of the list: its key, and its key with each character deleted, find
every listed plate within one insertion, deletion or substitution of a look-alike-equivalent key. An
edit-distance scan with rapidfuzz over 100,000 plates costs milliseconds per read; this costs microseconds.

Scores: 1.0 the same plate; 0.9 the same up to look-alikes; 0.75 one character more, fewer or different.
A listed plate of another country (both known) scores 0.8 times as much: foreign plates repeat domestic
ones often enough to matter, and a cloned plate may carry the wrong country band.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from borderwatch.vehicles.plates import confusion_key

EXACT, LOOKALIKE, ONE_EDIT = 1.0, 0.9, 0.75
OTHER_COUNTRY = 0.8
DEFAULT_THRESHOLD = 0.75


@dataclass(frozen=True, slots=True)
class Listed:
    """One plate on a hotlist: which list, why, and a reference (case, intelligence report, owner)."""

    entry_id: int
    plate: str
    country: str | None
    list_name: str
    reason: str
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class HotlistHit:
    entry: Listed
    score: float
    how: str  # exact, lookalike or one_edit

    def evidence(self, *, read_plate: str, read_country: str | None) -> dict[str, object]:
        return {
            "list": self.entry.list_name,
            "listed_plate": self.entry.plate,
            "listed_country": self.entry.country,
            "read_plate": read_plate,
            "read_country": read_country,
            "match": self.how,
            "score": self.score,
            "reason": self.entry.reason,
            "reference": self.entry.reference,
            "entry_id": self.entry.entry_id,
        }


def _deletions(key: str) -> set[str]:
    return {key[:i] + key[i + 1 :] for i in range(len(key))}


@dataclass
class HotlistIndex:
    """Listed plates by confusion key and by one-deletion key; build once, match many reads."""

    by_key: dict[str, list[Listed]] = field(default_factory=dict)
    by_deletion: dict[str, list[Listed]] = field(default_factory=dict)
    size: int = 0

    @classmethod
    def build(cls, entries: Iterable[Listed]) -> HotlistIndex:
        index = cls()
        for entry in entries:
            key = confusion_key(entry.plate)
            index.by_key.setdefault(key, []).append(entry)
            for deleted in _deletions(key):
                index.by_deletion.setdefault(deleted, []).append(entry)
            index.size += 1
        return index

    def match(
        self, plate: str, country: str | None = None, *, threshold: float = DEFAULT_THRESHOLD
    ) -> list[HotlistHit]:
        """Listed plates that ``plate`` may be, best first; each entry once, at its best score."""
        key = confusion_key(plate)
        best: dict[int, HotlistHit] = {}

        def offer(entry: Listed, score: float, how: str) -> None:
            if country and entry.country and entry.country != country:
                score *= OTHER_COUNTRY
            score = round(score, 4)
            if score >= threshold and (entry.entry_id not in best or best[entry.entry_id].score < score):
                best[entry.entry_id] = HotlistHit(entry=entry, score=score, how=how)

        for entry in self.by_key.get(key, ()):
            exact = entry.plate == plate
            offer(entry, EXACT if exact else LOOKALIKE, "exact" if exact else "lookalike")
        # One deletion from the read matches a listed key (the read has an extra character); the read's key
        # among the listed keys' deletions (a missed character); or both (one character different).
        for deleted in _deletions(key):
            for entry in self.by_key.get(deleted, ()):
                offer(entry, ONE_EDIT, "one_edit")
            for entry in self.by_deletion.get(deleted, ()):
                if len(confusion_key(entry.plate)) == len(key):
                    offer(entry, ONE_EDIT, "one_edit")
        for entry in self.by_deletion.get(key, ()):
            offer(entry, ONE_EDIT, "one_edit")
        return sorted(best.values(), key=lambda hit: (-hit.score, hit.entry.entry_id))
