"""Name comparison: align name parts regardless of order, score each pair, explain the result.

Each token of one name is paired with at most one token of the other (greedy on similarity, which for
names of a few parts equals the optimal assignment in practice). A pair's similarity is the best of:
equality, initial (``j`` ~ ``john``), phonetic key equality (metaphone), consonant skeleton (abjad
transliterations), and optimal-string-alignment / Jaro-Winkler similarity, stricter on short tokens. The
name score rewards how much of the shorter name is covered and penalises parts present on both sides that
do not match (``Ali`` vs ``Ahmed``): two names that each have a part the other lacks are different names,
even if they share a family name.

The returned score is *decision-shaped*: pairs judged the same score in [0.75, 1], pairs judged different in
[0, 0.45], so any threshold between 0.5 and 0.7 gives the same decisions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import permutations

from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler

from borderwatch.screening.normalize import (
    ORG_STOPWORDS,
    PARTICLES,
    PERSON,
    NormalizedName,
    consonant_skeleton,
    has_vowels,
    normalize_name,
    phonetic_key,
    squeeze,
    transliteration_key,
)

MATCH_MIN = 0.75  # a token pair below this is not a match
SAME_RAW = 0.80  # raw score from which two names are the same
SAME_FLOOR = 0.75
DIFFERENT_CEILING = 0.45
SPACING_EDIT_COST = 0.5


@dataclass(frozen=True, slots=True)
class TokenPair:
    left: str
    right: str
    similarity: float
    how: str  # exact, initial, phonetic, skeleton, fuzzy

    def describe(self) -> str:
        if self.how == "exact":
            return self.left
        return f"{self.left}~{self.right} ({self.how} {self.similarity:.2f})"


@dataclass(frozen=True, slots=True)
class NameComparison:
    """The score of two names and why."""

    score: float
    raw: float
    pairs: tuple[TokenPair, ...] = ()
    unmatched_left: tuple[str, ...] = ()
    unmatched_right: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def explain(self) -> str:
        parts = [", ".join(p.describe() for p in self.pairs) or "no parts matched"]
        if self.unmatched_left:
            parts.append("query only: " + " ".join(self.unmatched_left))
        if self.unmatched_right:
            parts.append("listed only: " + " ".join(self.unmatched_right))
        parts.extend(self.notes)
        return "; ".join(parts)


@lru_cache(maxsize=500_000)
def token_similarity(a: str, b: str) -> tuple[float, str]:
    """Similarity in [0, 1] of two normalised tokens and how it was reached."""
    if a == b:
        return 1.0, "exact"
    if a.isdigit() or b.isdigit():
        return 0.0, "number"
    if len(a) == 1 or len(b) == 1:
        return (0.8, "initial") if a[0] == b[0] else (0.0, "initial")
    longest = max(len(a), len(b))
    if longest - min(len(a), len(b)) > longest // 2 + 1:
        return 0.0, "fuzzy"  # too different in length for a typo or a variant spelling
    if squeeze(a) == squeeze(b):
        return 0.9, "doubled letter"
    # Optimal string alignment: a swap of two neighbouring letters is one typo, not two.
    lev = OSA.normalized_similarity(a, b)
    jw = JaroWinkler.similarity(a, b)
    shortest = min(len(a), len(b))
    best, how = 0.0, "fuzzy"
    if shortest >= 5:
        # One edit in five characters is a typo. (Jaro-Winkler is only a guard below: it rewards a shared
        # beginning, which joins different names such as Michele and Michelangelo.)
        best = lev
    elif (shortest == 4 and (a[0] == b[0] or sorted(a) == sorted(b))) or (lev >= 0.66 and a[0] == b[0]):
        best = lev
    if a[0] == b[0] or a[:2] in {"ph", "kh", "gh", "ch"}:
        pa, pb = phonetic_key(a), phonetic_key(b)
        # Metaphone ignores vowels (Hassan = Hussein): the spelling-insensitive forms must be close too.
        close = OSA.normalized_similarity(transliteration_key(a), transliteration_key(b)) >= 0.7
        if pa and pa == pb and len(pa) >= 2 and jw >= 0.7 and close and best < 0.9:
            best, how = 0.9, "phonetic"
    if best < 0.9 and shortest >= 3:
        ka, kb = transliteration_key(a), transliteration_key(b)
        if ka == kb and len(ka) >= 3:
            best, how = 0.9, "transliteration"
        elif (
            best < MATCH_MIN
            and min(len(ka), len(kb)) >= 5
            and (ka[0] == kb[0] or {ka[0], kb[0]} == {"g", "k"})
        ):
            variant = OSA.normalized_similarity(ka, kb)
            if variant >= 0.8:
                best, how = variant * 0.95, "transliteration"
    # Abjad transliterations write no vowels ("hsyn" for Hussein): compare consonants only.
    if best < MATCH_MIN and shortest >= 3 and a[0] == b[0] and (has_vowels(a) != has_vowels(b)):
        sa = consonant_skeleton(a)
        if len(sa) >= 2 and sa == consonant_skeleton(b):
            best, how = 0.8, "skeleton"
    return best, how


@lru_cache(maxsize=200_000)
def _weight(token: str, kind: str) -> float:
    if token.isdigit():
        return 3.0
    if len(token) == 1:
        return 0.5
    if token in PARTICLES or (kind != PERSON and token in ORG_STOPWORDS):
        return 0.3
    return float(min(max(len(token), 3), 8))


def _merge_compounds(left: tuple[str, ...], right: tuple[str, ...]) -> tuple[str, ...]:
    """``left`` (sorted) with two parts joined where the join is a part of ``right`` (``abdul rahman``).

    Any two parts may join, in either order, so the result does not depend on the order of the parts.
    """
    remaining = sorted(left)
    if len(left) < 2:
        return tuple(remaining)
    merged: list[str] = []
    for target in sorted(set(right) - set(left)):
        for index, head in enumerate(remaining):
            if head and target.startswith(head) and len(target) > len(head):
                tail = target[len(head) :]
                if tail in remaining and remaining.index(tail) != index:
                    remaining[index] = ""
                    remaining[remaining.index(tail)] = ""
                    merged.append(target)
                    break
    if not merged:
        return tuple(remaining)
    return tuple(sorted([t for t in remaining if t] + merged))


@lru_cache(maxsize=100_000)
def _orders(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The name written without spaces in each order of its parts (up to five parts), else in its own
    order and each rotation of it (``family given`` and ``given family`` are among them)."""
    if len(tokens) <= 5:
        return tuple(dict.fromkeys("".join(p) for p in permutations(tokens)))
    return tuple(dict.fromkeys("".join(tokens[i:] + tokens[:i]) for i in range(len(tokens))))


def spacing_edits(left: tuple[str, ...], right: tuple[str, ...]) -> tuple[int, int]:
    """Fewest letter edits (optimal string alignment) between the two names written without spaces, over
    the orders of each side's parts, and the longer joined length. Catches spaces moved, lost or added on
    top of typos: ``johns mith`` / ``smith john`` is 0 edits, ``tarding house`` / ``trading house`` 1."""
    joined_l, joined_r = "".join(left), "".join(right)
    longest = max(len(joined_l), len(joined_r))
    if abs(len(joined_l) - len(joined_r)) > 2:
        return 3, longest
    # Each edit changes the letter counts by at most two: a cheap test before trying orders.
    difference = (Counter(joined_l) - Counter(joined_r)).total() + (
        Counter(joined_r) - Counter(joined_l)
    ).total()
    if difference > 4:
        return 3, longest
    best = 3
    for written, orders in ((joined_l, _orders(right)), (joined_r, _orders(left))):
        found = process.extractOne(written, orders, scorer=OSA.distance, score_cutoff=best - 1)
        if found is not None:
            best = min(best, int(found[1]))
        if best == 0:
            break
    return best, longest


def _spacing_raw(left: tuple[str, ...], right: tuple[str, ...], budget: int | None = None) -> float:
    """Raw similarity from ``spacing_edits``: 1 for the same letters, less for each edit, 0 beyond what
    a clerk's typing explains (none under five letters, one under eight, else two). An edit costs half a
    letter: one typo in a long name is weaker evidence against it than a different letter in a part.
    ``budget`` is the length that sets the allowance and the cost (default: the longer name without
    spaces); the spelled-out forms pass the shorter normalised length, so that a legal form kept in them
    does not buy edits for a short distinctive name (``CEC IMJTED`` / ``CEC LIMITED``)."""
    digits_l = sorted(c for t in left for c in t if c.isdigit())
    if digits_l != sorted(c for t in right for c in t if c.isdigit()):
        return 0.0  # a number is no typo: "vessel star 1" is not "vessel star 2"
    edits, longest = spacing_edits(left, right)
    length = longest if budget is None else budget
    allowed = 0 if length < 5 else 1 if length < 8 else 2
    if edits > allowed:
        return 0.0
    return 1.0 - SPACING_EDIT_COST * edits / max(length, 1)


def _conflicting_initials(
    left: tuple[str, ...], sim_l: list[float], right: tuple[str, ...], sim_r: list[float]
) -> bool:
    """Both names keep an unmatched initial (``John A. Smith`` / ``John B. Smith``)."""
    return any(len(t) == 1 and s == 0.0 for t, s in zip(left, sim_l, strict=True)) and any(
        len(t) == 1 and s == 0.0 for t, s in zip(right, sim_r, strict=True)
    )


def _align(left: tuple[str, ...], right: tuple[str, ...]) -> list[tuple[int, int, float, str]]:
    scored = []
    for i, a in enumerate(left):
        for j, b in enumerate(right):
            sim, how = token_similarity(a, b)
            if sim >= MATCH_MIN:
                scored.append((sim, a, b, i, j, how))
    scored.sort(reverse=True)
    used_l: set[int] = set()
    used_r: set[int] = set()
    pairs = []
    for sim, _, _, i, j, how in scored:
        if i in used_l or j in used_r:
            continue
        used_l.add(i)
        used_r.add(j)
        pairs.append((i, j, sim, how))
    return pairs


def _shape(raw: float) -> float:
    if raw >= SAME_RAW:
        return SAME_FLOOR + (1.0 - SAME_FLOOR) * (raw - SAME_RAW) / (1.0 - SAME_RAW)
    return DIFFERENT_CEILING * raw / SAME_RAW


def _spelled_length(name: NormalizedName) -> int:
    return max(len(name.joined), sum(len(t) for t in name.folded))


def _spaced(
    left: NormalizedName, right: NormalizedName, raw: float, notes: list[str], *, exact_only: bool
) -> tuple[float, list[str]]:
    """The raw score and notes after comparing the names without spaces, as normalised and as spelled
    (legal forms and honorifics kept), when that says more than the parts did; with ``exact_only``, only
    the same letters count (a name written in another script: see ``compare_normalized``)."""
    budget = min(len(left.joined), len(right.joined))
    readings: list[tuple[tuple[str, ...], tuple[str, ...], int | None]] = [(left.tokens, right.tokens, None)]
    if left.folded or right.folded:
        readings.append((left.folded or left.tokens, right.folded or right.tokens, budget))
    for one, other, length in readings:
        spaced = _spacing_raw(one, other, length)
        if spaced > raw and (spaced == 1.0 or not exact_only):
            edits, _ = spacing_edits(one, other)
            raw = spaced
            notes = ["same letters, different spacing" if edits == 0 else f"{edits} letter edit(s) apart"]
    return raw, notes


def compare_normalized(left: NormalizedName, right: NormalizedName) -> NameComparison:
    """Compare two normalised names (see the module docstring for the method)."""
    kind = left.kind if left.kind == right.kind else PERSON
    if not left.tokens or not right.tokens:
        return NameComparison(score=0.0, raw=0.0, notes=("empty name",))
    if left.tokens == right.tokens or sorted(left.tokens) == sorted(right.tokens):
        pairs = tuple(TokenPair(t, t, 1.0, "exact") for t in left.tokens)
        return NameComparison(score=1.0, raw=1.0, pairs=pairs)
    lt = _merge_compounds(left.tokens, right.tokens)
    rt = _merge_compounds(right.tokens, lt)
    aligned = _align(lt, rt)
    sim_l = [0.0] * len(lt)
    sim_r = [0.0] * len(rt)
    for i, j, sim, _ in aligned:
        sim_l[i] = sim
        sim_r[j] = sim
    w_l = [_weight(t, kind) for t in lt]
    w_r = [_weight(t, kind) for t in rt]
    cov_l = sum(w * s for w, s in zip(w_l, sim_l, strict=True)) / sum(w_l)
    cov_r = sum(w * s for w, s in zip(w_r, sim_r, strict=True)) / sum(w_r)
    small, big = (cov_l, cov_r) if sum(w_l) <= sum(w_r) else (cov_r, cov_l)
    raw = 0.8 * small + 0.2 * big if kind == PERSON else 0.65 * small + 0.35 * big
    notes: list[str] = []
    lost_l = [t for t, s, w in zip(lt, sim_l, w_l, strict=True) if s == 0.0 and w >= 2]
    lost_r = [t for t, s, w in zip(rt, sim_r, w_r, strict=True) if s == 0.0 and w >= 2]
    if lost_l and lost_r:
        # A different given name splits two persons; one odd part among many agreeing ones is likelier a typo.
        agreeing = sum(1 for i, _j, sim, _how in aligned if sim >= 0.9 and len(lt[i]) >= 2)
        raw *= 0.9 if agreeing >= 4 and len(lost_l) == len(lost_r) == 1 else 0.6
        notes.append("conflicting parts")
    elif _conflicting_initials(lt, sim_l, rt, sim_r):
        raw *= 0.75 if kind == PERSON else 1.0
        notes.append("different initials")
    significant = min(sum(1 for w in w_l if w >= 2), sum(1 for w in w_r if w >= 2))
    if significant <= 1 and max(len(lt), len(rt)) >= 2 and (lost_l or lost_r):
        raw *= 0.75
        notes.append("single-part name")
    # Same letters up to a typo or two, spaced differently ("xi jinping" / "xijinping"; "johns mith" /
    # "smith john"; "tarding house" / "trading house").
    spelled = min(_spelled_length(left), _spelled_length(right))
    if raw < 0.95 and spelled >= 5 and "different initials" not in notes:
        # A name typed in another script (Han, Hangul, Arabic, Cyrillic) is transliterated by a fixed
        # rule, not typed letter by letter in Latin: its letters carry no Latin typos, and two edits
        # between short romanised names are another name (``bin zhang`` / ``zhang jian``).
        raw, notes = _spaced(left, right, raw, notes, exact_only=not (left.latin and right.latin))
    raw = min(max(raw, 0.0), 1.0)
    return NameComparison(
        score=_shape(raw),
        raw=raw,
        pairs=tuple(TokenPair(lt[i], rt[j], sim, how) for i, j, sim, how in sorted(aligned)),
        unmatched_left=tuple(t for t, s in zip(lt, sim_l, strict=True) if s == 0.0),
        unmatched_right=tuple(t for t, s in zip(rt, sim_r, strict=True) if s == 0.0),
        notes=tuple(notes),
    )


def compare_names_detail(a: str, b: str, kind: str = PERSON) -> NameComparison:
    return compare_normalized(normalize_name(a, kind), normalize_name(b, kind))


def compare_names(a: str, b: str, kind: str = PERSON) -> float:
    """Similarity in [0, 1] of two names of a ``person`` or an organisation-like ``kind``.

    Symmetric, independent of name-part order, 1.0 for identical names. Scores of at least 0.75 mean "same
    name" (allowing typos, transliteration, missing middle names, initials, legal forms); at most 0.45 mean
    "different name".
    """
    score = compare_names_detail(a, b, kind).score
    other = compare_names_detail(b, a, kind).score
    return round(min(score, other), 6)
