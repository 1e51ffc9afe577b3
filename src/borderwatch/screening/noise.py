"""Data-entry noise: listed names as a clerk or an OCR would type them, to measure screening recall.

The noise model (seeded, reproducible):

- **Presentation**: a person listed as ``SMITH, John`` is typed ``John SMITH`` (half the time), in a random
  order of its parts (a quarter), or as listed; upper, lower or title case at random.
- **Edits**, one or two per name (half each), each chosen uniformly among:
  ``space moved`` (one or two letters left or right: ``JohnS MITH``), ``space lost`` (two parts merged:
  ``JohnSMITH``), ``part split`` (a space inside a part of six letters or more: ``TRA DING``),
  ``letters swapped`` (two neighbouring letters: ``Li Wie``), ``letter dropped``, ``letter doubled``,
  ``letter inserted`` (a keyboard neighbour of a letter next to it) and ``letter replaced`` (by a keyboard
  neighbour). Edits touch letters only, never punctuation, and never leave a name empty.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from borderwatch.screening.entries import WatchEntry
from borderwatch.screening.normalize import is_org

_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: dict[str, str] = {}
for _row_index, _row in enumerate(_KEYBOARD):
    for _col, _letter in enumerate(_row):
        near = [_row[c] for c in (_col - 1, _col + 1) if 0 <= c < len(_row)]
        for other in (_row_index - 1, _row_index + 1):
            if 0 <= other < len(_KEYBOARD):
                near += [_KEYBOARD[other][c] for c in (_col - 1, _col) if 0 <= c < len(_KEYBOARD[other])]
        _NEIGHBOURS[_letter] = "".join(near)

EDITS = (
    "space moved",
    "space lost",
    "part split",
    "letters swapped",
    "letter dropped",
    "letter doubled",
    "letter inserted",
    "letter replaced",
)


@dataclass(frozen=True, slots=True)
class NoisyName:
    """A treated name, the listed name it came from, its entry and the edits applied."""

    query: str
    source: str
    entity_id: str
    kind: str
    edits: tuple[str, ...]


def _neighbour(rng: random.Random, letter: str) -> str:
    near = _NEIGHBOURS.get(letter.lower(), "etaoinshr")
    out = rng.choice(near)
    return out.upper() if letter.isupper() else out


def _letter_positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch.isalpha()]


def _space_positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch == " " and 0 < i < len(text) - 1]


def apply_edit(rng: random.Random, text: str, edit: str) -> str | None:
    """``text`` with one ``edit`` (one of ``EDITS``), or ``None`` when the edit does not apply to it."""
    letters = _letter_positions(text)
    spaces = _space_positions(text)
    if edit == "space moved" and spaces:
        at = rng.choice(spaces)
        shift = rng.choice((-2, -1, 1, 2))
        joined = text[:at] + text[at + 1 :]
        target = at + shift  # the space now stands before joined[target]
        if not (1 <= target < len(joined) and joined[target - 1].isalpha() and joined[target].isalpha()):
            return None
        return joined[:target] + " " + joined[target:]
    if edit == "space lost" and spaces:
        at = rng.choice(spaces)
        return text[:at] + text[at + 1 :]
    if edit == "part split":
        inner = [
            i
            for i in letters
            if i >= 2 and i + 2 < len(text) and text[i - 2 : i + 3].isalpha() and _part_length(text, i) >= 6
        ]
        if not inner:
            return None
        at = rng.choice(inner)
        return text[:at] + " " + text[at:]
    if len(letters) < 3:
        return None
    at = rng.choice(letters)
    if edit == "letters swapped":
        if at + 1 >= len(text) or not text[at + 1].isalpha() or text[at] == text[at + 1]:
            return None
        return text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    if edit == "letter dropped":
        return text[:at] + text[at + 1 :]
    if edit == "letter doubled":
        return text[:at] + text[at] + text[at:]
    if edit == "letter inserted":
        return text[:at] + _neighbour(rng, text[at]) + text[at:]
    if edit == "letter replaced":
        return text[:at] + _neighbour(rng, text[at]) + text[at + 1 :]
    return None


def _part_length(text: str, at: int) -> int:
    start = at
    while start > 0 and text[start - 1].isalpha():
        start -= 1
    end = at
    while end < len(text) and text[end].isalpha():
        end += 1
    return end - start


def present(rng: random.Random, name: str, kind: str) -> str:
    """The listed ``name`` as someone would type it: order of parts and case (see the module docstring)."""
    text = name
    if not is_org(kind):
        family, comma, given = name.partition(",")
        parts = name.replace(",", " ").split()
        draw = rng.random()
        if comma and given.strip() and draw < 0.5:
            text = f"{given.strip()} {family.strip()}"
        elif draw < 0.75 and len(parts) > 1:
            rng.shuffle(parts)
            text = " ".join(parts)
        else:
            text = " ".join(parts)
    case = rng.random()
    if case < 0.33:
        return text.upper()
    if case < 0.66:
        return text.title()
    return text


def treat(rng: random.Random, name: str, kind: str, edits: int) -> tuple[str, tuple[str, ...]]:
    """``name`` presented and then changed by ``edits`` random edits; the edits applied."""
    text = present(rng, name, kind)
    applied: list[str] = []
    for _ in range(50):
        if len(applied) == edits:
            break
        edit = rng.choice(EDITS)
        changed = apply_edit(rng, text, edit)
        if changed and changed.strip() and changed != text:
            text, applied = changed, [*applied, edit]
    return " ".join(text.split()), tuple(applied)


def noisy_queries(
    entries: Sequence[WatchEntry], *, count: int, seed: int, kinds: Sequence[str] = ("person", "organization")
) -> list[NoisyName]:
    """``count`` treated primary names of ``entries`` of the given kinds, half with one edit, half two."""
    rng = random.Random(seed)
    pool = [e for e in entries if e.kind in kinds and len(e.name.replace(",", "").split()) >= 1]
    chosen = rng.sample(pool, min(count, len(pool)))
    out = []
    for index, entry in enumerate(chosen):
        query, edits = treat(rng, entry.name, entry.kind, 1 + index % 2)
        out.append(NoisyName(query, entry.name, entry.entity_id, entry.kind, edits))
    return out
