"""The training commands beyond queue and grade: checking an instructor's scenario file, an exercise from
closed cases in a KCS-layout file (pseudonymised, graded on its outcomes), and play in the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic
from borderwatch.training.exercise import pseudonym
from borderwatch.training.scenarios import SHIPPED_DIR

runner = CliRunner()


def test_check_names_the_file_scenario_and_field_of_a_bad_scenario(tmp_path: Path) -> None:
    good = yaml.safe_load((SHIPPED_DIR / "front-company.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump({**good, "id": "my-drill"}), encoding="utf-8")
    ok = runner.invoke(app, ["training", "check", str(path)])
    assert ok.exit_code == 0 and "my-drill: valid (40 declarations, budget 5; 3 front_company)" in ok.output
    path.write_text(yaml.safe_dump({**good, "id": "my-drill", "queue": {"size": 40, "budget": "five"}}))
    bad = runner.invoke(app, ["training", "check", str(path)])
    assert bad.exit_code == 2
    message = " ".join(bad.output.split())
    assert "drill.yaml" in message and "'my-drill'" in message and "'queue.budget'" in message


def test_an_exercise_from_closed_cases_in_a_file_is_pseudonymised_and_graded(tmp_path: Path) -> None:
    traffic = generate_traffic(GeneratorConfig(declarations=1200, seed=8, days=30))
    cases = tmp_path / "cases.csv"
    write_traffic(traffic, cases)
    queue_path, choices, graded = tmp_path / "q.json", tmp_path / "c.csv", tmp_path / "g.json"
    common = ["--cases", str(cases), "--salt", "course 7", "--seed", "4", "--size", "30", "--budget", "3"]
    ran = runner.invoke(app, ["training", "queue", "closed-cases", *common, "--json", str(queue_path)])
    assert ran.exit_code == 0, ran.output
    queue = json.loads(queue_path.read_text())
    shown = [d["lrn"] for d in queue["declarations"]]
    assert len(shown) == 30 and queue["budget"] == 3
    real = {pseudonym(lrn, salt=b"course 7", prefix="D"): lrn for lrn in traffic.frame["Declaration ID"]}
    assert all(lrn in real for lrn in shown) and not set(shown) & set(real.values())
    fraud = dict(zip(traffic.labels["lrn"], traffic.labels["fraud"], strict=True))
    frauds = [lrn for lrn in shown if fraud[real[lrn]]][:3]
    choices.write_text("lrn,lane\n" + "".join(f"{lrn},red\n" for lrn in frauds))
    ran = runner.invoke(
        app, ["training", "grade", "closed-cases", *common, "--choices", str(choices), "--json", str(graded)]
    )
    assert ran.exit_code == 0, ran.output
    result = json.loads(graded.read_text())
    assert result["hit_rate"] == 1.0
    assert result["frauds_missed"] == sum(fraud[real[lrn]] for lrn in shown) - len(frauds)
    missing_salt = runner.invoke(app, ["training", "queue", "closed-cases", "--cases", str(cases)], env={})
    assert missing_salt.exit_code == 2 and "--salt" in missing_salt.output


def test_play_in_the_terminal_ends_with_the_debrief() -> None:
    # Everything green with the default confidence: no inspection, every fraud missed, all duty uncollected.
    ran = runner.invoke(app, ["training", "play", "front-company", "--seed", "1"], input="\n\n\n" * 40)
    assert ran.exit_code == 0, ran.output
    assert "Debrief" in ran.output and "Duty left uncollected" in ran.output
    assert "front_company — you green" in ran.output
