"""Vega-Lite specifications for the workspace's charts (rendered in the browser by vega-embed)."""

from __future__ import annotations

from typing import Any

from borderwatch.web.api.records import DeclarationOut

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
LANE_COLOURS = {"domain": ["red", "yellow", "green"], "range": ["#c62828", "#d4a106", "#2e7d32"]}


def explanation_spec(declaration: DeclarationOut) -> dict[str, Any] | None:
    """How the 0-100 score is made: the model's part (fraud probability x 100) and the points that risk
    profiles and anomaly flags added, next to the reasons in the order the scorer ranked them."""
    decision = declaration.decision
    if decision is None or decision.score is None:
        return None
    model_part = round((decision.fraud_probability or 0.0) * 100, 1)
    rules_part = round(decision.score - model_part, 1)
    values = [
        {"part": "model (fraud probability × 100)", "points": model_part},
        {"part": "risk profiles and anomaly flags", "points": rules_part},
        {"part": "score", "points": round(decision.score, 1)},
    ]
    return {
        "$schema": SCHEMA,
        "description": f"Score composition of declaration {declaration.lrn}",
        "width": "container",
        "height": 120,
        "data": {"values": values},
        "mark": {"type": "bar", "cornerRadiusEnd": 3},
        "encoding": {
            "y": {"field": "part", "type": "nominal", "sort": None, "title": None},
            "x": {
                "field": "points",
                "type": "quantitative",
                "title": "points (0-100)",
                "scale": {"domain": [min(0, rules_part), 100]},
            },
            "color": {
                "field": "part",
                "type": "nominal",
                "legend": None,
                "scale": {"range": ["#1f5fbf", "#8e44ad", "#14213d"]},
            },
            "tooltip": [{"field": "part"}, {"field": "points"}],
        },
    }
