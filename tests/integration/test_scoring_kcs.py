"""The one KCS-scale check: trained on 2020, graded on 2021 Q1 without its outcomes, borderwatch beats the
plain baseline at every inspection rate and reaches the precision goals."""

from __future__ import annotations

from pathlib import Path

import pytest

from borderwatch.scoring.evaluate import RATES, evaluate_files


@pytest.mark.kcs
@pytest.mark.slow
def test_borderwatch_beats_the_baseline_on_kcs(kcs_dir: Path) -> None:
    evaluation = evaluate_files(
        train=[kcs_dir / "df_syn_train_eng.csv"], test=kcs_dir / "df_syn_valid_eng.csv"
    )
    ours = evaluation.report["models"]["borderwatch"]
    baseline = evaluation.report["models"]["baseline"]
    assert ours["auc"] > baseline["auc"]
    for rate in RATES:
        assert ours["at"][str(rate)]["precision"] > baseline["at"][str(rate)]["precision"], rate
    assert ours["at"]["5"]["precision"] >= 0.90
    assert ours["at"]["10"]["precision"] >= 0.80
