"""Training scenarios: the shipped YAML files load, cover the tactics, and a malformed file is refused with an
error naming the file, the scenario and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from borderwatch.core.errors import ConfigError
from borderwatch.synthetic import TACTICS
from borderwatch.training.scenarios import SHIPPED_DIR, get_scenario, load_scenarios, parse_scenario
from tests.hypothesis_profiles import examples

GOOD = yaml.safe_load((SHIPPED_DIR / "undervaluation.yaml").read_text(encoding="utf-8"))


def test_shipped_scenarios_cover_every_tactic_and_a_normal_day() -> None:
    scenarios = load_scenarios()
    assert len(scenarios) == 8
    planted = {tactic for scenario in scenarios for tactic in scenario.plant}
    assert planted == set(TACTICS)
    mixed = get_scenario("normal-day")
    assert len(mixed.plant) >= 4 and not mixed.aids and mixed.queue.time_limit_seconds


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"plant": {"smuggling": 3}}, "plant", "unknown tactic 'smuggling'"),
        ({"queue": {"size": 10, "budget": 20}}, "queue", "larger than the queue"),
        ({"indicators": ["gut_feeling"]}, "indicators", "unknown indicator 'gut_feeling'"),
        ({"debrief": None}, "debrief", "valid string"),
        ({"colour": "red"}, "colour", "Extra inputs"),
        ({"plant": {"misclassification": 60}}, None, "do not fit"),
    ],
)
def test_a_malformed_scenario_names_file_scenario_and_field(
    tmp_path: Path, change: dict[str, object], field: str | None, words: str
) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({**GOOD, "id": "my-drill", **change}), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_scenarios(tmp_path)
    message = str(raised.value)
    assert str(path) in message and "'my-drill'" in message and words in message
    if field:
        assert raised.value.field is not None and raised.value.field.startswith(field)


def test_broken_yaml_and_duplicate_ids_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_scenarios(tmp_path)
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(GOOD), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(GOOD), encoding="utf-8")
    with pytest.raises(ConfigError, match="also used in") as raised:
        load_scenarios(tmp_path)
    assert raised.value.field == "id"


def test_an_unknown_scenario_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="normal-day"):
        get_scenario("nothing-like-it")


@settings(max_examples=examples(150), deadline=None)
@given(
    document=st.dictionaries(
        st.sampled_from(
            ["id", "title", "objectives", "plant", "queue", "aids", "indicators", "debrief", "x"]
        ),
        st.recursive(
            st.none() | st.booleans() | st.integers(-5, 600) | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
            ),
            max_leaves=6,
        ),
    )
)
def test_any_document_is_a_scenario_or_a_config_error_naming_the_file(document: dict[str, object]) -> None:
    try:
        parse_scenario({**GOOD, **document}, source="fuzz.yaml")
    except ConfigError as error:
        assert str(error).startswith("fuzz.yaml")
