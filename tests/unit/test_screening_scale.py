"""The synthetic collection, its FtM file read as a stream, and an index updated in place on reload."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from borderwatch.screening.entries import Alias
from borderwatch.screening.identifiers import imo_check_digit_ok
from borderwatch.screening.matcher import Matcher, Query
from borderwatch.screening.parsers import iter_ftm_jsonl
from borderwatch.screening.synthetic import synthetic_entries, write_ftm_jsonl


def test_synthetic_collection_round_trips_through_the_streaming_ftm_reader(tmp_path: Path) -> None:
    entries = list(synthetic_entries(2000, seed=3))
    kinds = {k: sum(e.kind == k for e in entries) for k in ("person", "organization", "vessel")}
    assert kinds["person"] > kinds["organization"] > kinds["vessel"] > 0
    assert all(imo_check_digit_ok(i.value) for e in entries for i in e.identifiers)
    path = tmp_path / "synthetic.ftm.json"
    assert write_ftm_jsonl(entries, path) == 2000
    read = list(iter_ftm_jsonl(path))
    assert [(e.name, e.kind) for e in read] == [(e.name, e.kind) for e in entries]
    assert [a.name for a in read[0].aliases] == [a.name for a in entries[0].aliases]


def test_reload_reindexes_only_what_changed() -> None:
    entries = list(synthetic_entries(3000, seed=4))
    matcher = Matcher(entries)
    names_before = matcher.name_count
    target = next(e for e in entries if e.kind == "person" and not e.aliases)
    gone = next(e for e in entries if e.kind == "organization")
    renamed = replace(target, aliases=(Alias("Zebulon Quartermaine"),))
    assert matcher.update([renamed], removed=[gone.entity_id]) == 1
    assert matcher.entry_count == 2999
    assert matcher.name_count == names_before + 1 - len(gone.names())
    (hit,) = matcher.screen(Query("Zebulon Quartermain"), limit=1)
    assert hit.entity_id == target.entity_id
    assert gone.entity_id not in [m.entity_id for m in matcher.screen(Query(gone.name, kind="organization"))]
    # the same results as an index built from scratch on the new version
    fresh = Matcher([renamed if e is target else e for e in entries if e is not gone])
    for query in (Query(target.name), Query(entries[10].name, kind=entries[10].kind)):
        assert [m.entity_id for m in matcher.screen(query)] == [m.entity_id for m in fresh.screen(query)]
