"""The trigram channel: names whose spaces moved and whose letters changed still become candidates."""

from __future__ import annotations

from borderwatch.screening.entries import WatchEntry
from borderwatch.screening.grams import GramIndex, trigrams
from borderwatch.screening.matcher import Matcher, Query


def test_trigrams_ignore_spaces_and_doubled_letters() -> None:
    assert trigrams("denatankers") == trigrams("dennatankers")
    assert len(trigrams("li")) == 2  # short names are padded so that they have trigrams


def test_gram_index_ranks_by_jaccard_and_masks_removed_names() -> None:
    index = GramIndex()
    for name_id, joined in enumerate(["denatankers", "denmarktankers", "shamkhaniali", "castleholding"]):
        index.add(name_id, [joined])
    index.commit()
    found = index.candidates("deatankers", limit=2, min_similarity=0.3)
    assert [name_id for name_id, _ in found] == [0, 1]
    assert found[0][1] > found[1][1]
    index.remove([0])
    index.add(4, ["deenatankers"])  # in the delta until the next compaction
    index.commit()
    assert [name_id for name_id, _ in index.candidates("deatankers", limit=2, min_similarity=0.3)] == [4, 1]


def test_spaces_moved_and_a_letter_changed_are_found_and_explained() -> None:
    entries = [
        WatchEntry(entity_id="o:1", list_name="t", kind="organization", name="DENA TANKERS FZE"),
        WatchEntry(entity_id="p:1", list_name="t", kind="person", name="SHAMKHANI, Ali"),
        WatchEntry(entity_id="o:2", list_name="t", kind="organization", name="CASTLE HOLDING GMBH"),
        *(
            WatchEntry(entity_id=f"x:{i}", list_name="t", kind="person", name=f"ALI HASSAN {i:04d}")
            for i in range(50)
        ),
    ]
    matcher = Matcher(entries)
    for query, kind, expected in (
        ("DeaTa nkers Fze", "organization", "o:1"),
        ("SHAKBANI ALI", "person", "p:1"),
        ("CAST LEHOLDING GMBHH", "organization", "o:2"),
    ):
        (best, *_) = matcher.screen(Query(query, kind=kind))
        assert best.entity_id == expected, query
        assert "letter" in best.explanation or "spacing" in best.explanation
