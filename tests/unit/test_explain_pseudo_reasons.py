"""No pseudo-reasons: "fraud found in 0 of 6 earlier inspections" never explains why a declaration is risky;
the next family with something to say takes its place."""

from __future__ import annotations

import numpy as np
import polars as pl

from borderwatch.scoring.explain import model_reasons


def test_a_clean_inspection_history_is_never_a_reason_and_yields_its_place() -> None:
    names = ["importer_hit_rate", "importer_inspected", "tax_rate", "customs_value"]
    features = pl.DataFrame(
        {
            "lrn": ["A", "B"],
            "importer_id": ["IMP1", "IMP2"],
            "importer_hit_rate": [0.0, 0.5],
            "importer_inspected": [6, 4],
            "importer_frauds": [0, 2],
            "tax_rate": [8.0, 8.0],
            "duty_at_stake": [100.0, 100.0],
            "customs_value": [1000.0, 1000.0],
            "currency": ["KRW", "KRW"],
        }
    )
    # the importer's history pushes both towards fraud the most, then duty, then the value
    contributions = np.array([[0.9, 0.3, 0.5, 0.2, -1.0], [0.9, 0.3, 0.5, 0.2, -1.0]])
    clean, dirty = model_reasons(features, contributions, names, top=2).to_list()
    assert not any("0 of 6" in reason for reason in clean)
    assert len(clean) == 2  # the next families took the freed place
    assert any("2 of 4" in reason for reason in dirty)
