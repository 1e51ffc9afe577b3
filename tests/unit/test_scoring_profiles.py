"""Risk profiles: strict validation with errors naming file, rule and field; vectorised evaluation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from borderwatch.core.errors import ConfigError
from borderwatch.scoring.profiles import default_profiles, evaluate_profiles, load_profiles, parse_profiles

RULE = """
profiles:
  - id: {id}
    name: test rule
    rationale: because
    author: tester
    when:
{when}
    effect: {effect}
"""


def _write(tmp_path: Path, when: str, effect: str = "{add_points: 5}", rule_id: str = "R1") -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULE.format(id=rule_id, when=when, effect=effect))
    return path


def test_shipped_profiles_load_and_evaluate() -> None:
    profiles = default_profiles()
    assert len(profiles) >= 4
    assert len({p.id for p in profiles}) == len(profiles)
    assert all(p.rationale and p.author for p in profiles)


@pytest.mark.parametrize(
    ("when", "effect", "field", "words"),
    [
        (
            "      all:\n        - {field: colour, op: eq, value: red}",
            "{add_points: 5}",
            "when.all.0.field",
            "colour",
        ),
        (
            "      all:\n        - {field: tax_rate, op: like, value: 3}",
            "{add_points: 5}",
            "when.all.0.op",
            "like",
        ),
        ("      all:\n        - {field: tax_rate, op: gt}", "{add_points: 5}", "when", "needs a value"),
        (
            "      all:\n        - {field: tax_rate, op: between, value: [1]}",
            "{add_points: 5}",
            "when",
            "two",
        ),
        ("      all:\n        - {field: tax_rate, op: gt, value: high}", "{add_points: 5}", "when", "number"),
        ("      all: []", "{add_points: 5}", "when", "at least 1"),
        (
            "      all:\n        - {field: hs_code, op: eq, value: '610910'}",
            "{force_lane: purple}",
            "effect",
            "",
        ),
        (
            "      all:\n        - {field: hs_code, op: eq, value: '610910'}",
            "{add_points: 0}",
            "effect",
            "effect",
        ),
    ],
)
def test_malformed_rule_names_file_rule_and_field(
    tmp_path: Path, when: str, effect: str, field: str, words: str
) -> None:
    path = _write(tmp_path, when, effect)
    with pytest.raises(ConfigError) as caught:
        load_profiles(path)
    message = str(caught.value)
    assert str(path) in message
    assert "'R1'" in message
    assert caught.value.item == "R1"
    assert caught.value.field is not None and caught.value.field.startswith(field)
    assert "function" not in caught.value.field
    assert words in message


def test_file_level_errors_are_clear(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("profiles: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_profiles(broken)
    with pytest.raises(ConfigError, match="mapping"):
        parse_profiles(["a"], source="list.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        load_profiles(tmp_path / "missing.yaml")
    twice = tmp_path / "twice.yaml"
    twice.write_text(
        RULE.format(
            id="A",
            when="      any:\n        - {field: office, op: eq, value: '30'}",
            effect="{add_points: 1}",
        )
        + RULE.format(
            id="A",
            when="      any:\n        - {field: office, op: eq, value: '40'}",
            effect="{add_points: 1}",
        ).replace("profiles:\n", "")
    )
    with pytest.raises(ConfigError, match="duplicate rule id"):
        load_profiles(twice)


def test_no_code_is_ever_evaluated(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "      all:\n        - {field: office, op: eq, value: \"__import__('os').system('x')\"}"
    )
    (profile,) = load_profiles(path)
    frame = pl.DataFrame(
        {"office": ["30", "__import__('os').system('x')"], "declared_on": [date(2024, 1, 1)] * 2}
    )
    assert evaluate_profiles(frame, [profile])["rule_points"].to_list() == [0.0, 5.0]


def test_vectorised_evaluation_of_nested_conditions_windows_and_lanes(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(
        """
profiles:
  - id: CHEAP-TEXTILE
    name: cheap textiles from CN or VN
    rationale: undervaluation
    author: a
    when:
      all:
        - {field: hs2, op: in, value: ["61", "62"]}
        - any:
            - {field: origin_country, op: eq, value: CN}
            - {field: origin_country, op: eq, value: VN}
        - {field: unit_value_z, op: lt, value: -2}
    effect: {add_points: 10}
  - id: EMBARGO
    name: embargo
    rationale: sanctions
    author: b
    when:
      any:
        - {field: origin_country, op: in, value: [KP]}
    effect: {force_lane: red}
  - id: BIG-DUTY
    name: big duty, only in 2024
    rationale: revenue
    author: c
    valid_from: 2024-01-01
    valid_to: 2024-12-31
    when:
      all:
        - {field: duty_at_stake, op: ge, value: 1000}
    effect: {add_points: 4, force_lane: yellow}
  - id: SWITCHED-OFF
    name: disabled
    rationale: switched off
    author: d
    enabled: false
    when:
      all:
        - {field: office, op: not_null}
    effect: {add_points: 50}
"""
    )
    profiles = load_profiles(path)
    frame = pl.DataFrame(
        {
            "declared_on": [
                date(2024, 5, 1),
                date(2024, 5, 1),
                date(2025, 1, 2),
                date(2024, 2, 2),
                date(2024, 3, 3),
            ],
            "office": ["1", "1", "1", "1", None],
            "hs2": ["61", "61", "62", "84", "62"],
            "origin_country": ["CN", "BD", "VN", "KP", None],
            "unit_value_z": [-3.0, -3.0, -2.5, 0.0, None],
            "duty_at_stake": [5000.0, 10.0, 2000.0, 1000.0, None],
        }
    )
    result = evaluate_profiles(frame, profiles)
    # Row by row, by hand: CN textile cheap + big duty in window; BD not CN/VN; VN cheap but 2025 is outside
    # BIG-DUTY's window; KP embargo (red beats yellow) + big duty; nulls never hit.
    assert result["rule_points"].to_list() == [14.0, 0.0, 10.0, 4.0, 0.0]
    assert result["forced_lane"].to_list() == ["yellow", None, None, "red", None]
    assert result["rule_hits"].to_list() == [
        ["CHEAP-TEXTILE", "BIG-DUTY"],
        [],
        ["CHEAP-TEXTILE"],
        ["EMBARGO", "BIG-DUTY"],
        [],
    ]


def test_rule_on_a_field_the_frame_lacks_is_a_config_error() -> None:
    profiles = default_profiles()
    with pytest.raises(ConfigError, match="not available"):
        evaluate_profiles(pl.DataFrame({"office": ["1"]}), profiles)
