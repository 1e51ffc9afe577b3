"""Vega-Lite specifications for the workspace's charts (rendered in the browser by vega-embed)."""

from __future__ import annotations

from typing import Any

from borderwatch.scoring.online import ModelExplanation
from borderwatch.web.services.records import DeclarationOut

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
LANE_COLOURS = {"domain": ["red", "yellow", "green"], "range": ["#c62828", "#d4a106", "#2e7d32"]}


EXPLAINED_FAMILIES = 8


HIT_RATE: dict[str, Any] = {
    "field": "hit_rate",
    "type": "quantitative",
    "title": "hit rate",
    "axis": {"format": ".0%"},
    "scale": {"domain": [0, 1]},
}
"""The hit-rate axis every hit-rate chart shares (0 to 100 %)."""


def explanation_spec(
    declaration: DeclarationOut, explanation: ModelExplanation | None
) -> dict[str, Any] | None:
    """Why the model scored the declaration as it did: TreeSHAP contributions by feature family (log-odds,
    red towards fraud, green towards compliance). Without the model (gone, or never scored by one) the
    chart shows the stored score beside the fraud probability."""
    if explanation is not None:
        return _contributions_spec(declaration.lrn, explanation)
    decision = declaration.decision
    if decision is None or decision.score is None:
        return None
    values = [
        {"part": "risk score (0-100)", "points": round(decision.score, 1)},
        {"part": "fraud probability (%)", "points": round((decision.fraud_probability or 0.0) * 100, 1)},
    ]
    return {
        "$schema": SCHEMA,
        "description": f"Score of declaration {declaration.lrn}",
        "width": "container",
        "height": 80,
        "data": {"values": values},
        "mark": {"type": "bar", "cornerRadiusEnd": 3},
        "encoding": {
            "y": {"field": "part", "type": "nominal", "sort": None, "title": None},
            "x": {"field": "points", "type": "quantitative", "title": None, "scale": {"domain": [0, 100]}},
            "color": {
                "field": "part",
                "type": "nominal",
                "legend": None,
                "scale": {"range": ["#14213d", "#1f5fbf"]},
            },
            "tooltip": [{"field": "part"}, {"field": "points"}],
        },
    }


def _contributions_spec(lrn: str, explanation: ModelExplanation) -> dict[str, Any]:
    shown = explanation.contributions[:EXPLAINED_FAMILIES]
    rest = sum(value for _, value in explanation.contributions[EXPLAINED_FAMILIES:])
    if explanation.contributions[EXPLAINED_FAMILIES:]:
        shown = [*shown, ("all other features", rest)]
    values = [
        {
            "family": name,
            "log_odds": round(value, 3),
            "direction": "towards fraud" if value >= 0 else "towards compliance",
        }
        for name, value in shown
    ]
    return {
        "$schema": SCHEMA,
        "description": f"TreeSHAP explanation of declaration {lrn}",
        "title": {
            "text": f"P(fraud) {explanation.probability:.0%}: what moved the model from its base rate",
            "subtitle": f"log-odds by feature family (base {explanation.base:+.2f}; TreeSHAP)",
            "anchor": "start",
        },
        "width": "container",
        "height": {"step": 22},
        "data": {"values": values},
        "mark": {"type": "bar", "cornerRadiusEnd": 3},
        "encoding": {
            "y": {"field": "family", "type": "nominal", "sort": None, "title": None},
            "x": {"field": "log_odds", "type": "quantitative", "title": "contribution (log-odds)"},
            "color": {
                "field": "direction",
                "type": "nominal",
                "scale": {"domain": ["towards fraud", "towards compliance"], "range": ["#c62828", "#2e7d32"]},
                "legend": {"orient": "bottom", "title": None},
            },
            "tooltip": [{"field": "family"}, {"field": "log_odds", "format": "+.3f"}],
        },
    }


def _line_with_band(values: list[dict[str, Any]], colour_field: str, title: str) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": "container",
        "height": 200,
        "data": {"values": values},
        "encoding": {
            "x": {"field": "week", "type": "temporal", "title": "week"},
            "color": {
                "field": colour_field,
                "type": "nominal",
                **({"scale": LANE_COLOURS} if colour_field == "lane" else {}),
            },
        },
        "layer": [
            {
                "mark": {"type": "area", "opacity": 0.15},
                "encoding": {"y": {"field": "low", "type": "quantitative"}, "y2": {"field": "high"}},
            },
            {
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "y": HIT_RATE,
                    "tooltip": [
                        {"field": "week", "type": "temporal"},
                        {"field": colour_field},
                        {"field": "inspected"},
                        {"field": "frauds"},
                        {"field": "hit_rate", "format": ".1%"},
                    ],
                },
            },
        ],
    }


def dashboard_specs(data: Any) -> dict[str, dict[str, Any]]:
    """The dashboard's charts from :class:`borderwatch.web.services.monitoring.Monitoring`."""
    report = data.report
    specs: dict[str, dict[str, Any]] = {}
    if data.lanes_weekly:
        specs["lanes"] = _line_with_band(data.lanes_weekly, "lane", "Hit rate of inspections per lane")
        specs["inspections"] = {
            "$schema": SCHEMA,
            "title": "Inspections per lane",
            "width": "container",
            "height": 160,
            "data": {"values": data.lanes_weekly},
            "mark": "bar",
            "encoding": {
                "x": {"field": "week", "type": "ordinal", "title": "week (Monday)"},
                "y": {"field": "inspected", "type": "quantitative", "title": "inspections"},
                "color": {"field": "lane", "type": "nominal", "scale": LANE_COLOURS},
                "tooltip": [{"field": "lane"}, {"field": "inspected"}, {"field": "frauds"}],
            },
        }
    if report.get("profiles"):
        specs["profiles"] = {
            "$schema": SCHEMA,
            "title": "Hit rate per risk profile (95 % interval)",
            "width": "container",
            "height": {"step": 22},
            "data": {"values": report["profiles"]},
            "encoding": {"y": {"field": "profile", "type": "nominal", "sort": "-x", "title": None}},
            "layer": [
                {
                    "mark": "rule",
                    "encoding": {"x": {"field": "low", "type": "quantitative"}, "x2": {"field": "high"}},
                },
                {
                    "mark": {"type": "point", "filled": True, "size": 60},
                    "encoding": {
                        "x": HIT_RATE,
                        "tooltip": [
                            {"field": "profile"},
                            {"field": "inspected"},
                            {"field": "frauds"},
                            {"field": "hit_rate", "format": ".1%"},
                        ],
                    },
                },
            ],
        }
    if data.profiles_weekly:
        specs["profiles_weekly"] = _line_with_band(
            data.profiles_weekly, "profile", "Hit rate per profile over time"
        )
    if data.control_weekly:
        specs["control"] = _line_with_band(
            data.control_weekly, "sample", "Control-sample non-compliance (unbiased estimate, 95 % interval)"
        )
    if data.duty_weekly:
        specs["duty"] = {
            "$schema": SCHEMA,
            "title": "Duty recovered",
            "width": "container",
            "height": 160,
            "data": {"values": data.duty_weekly},
            "mark": {"type": "bar", "color": "#2e7d32"},
            "encoding": {
                "x": {"field": "week", "type": "ordinal", "title": "week (Monday)"},
                "y": {"field": "duty_recovered", "type": "quantitative", "title": "duty recovered"},
                "tooltip": [
                    # ordinal, like the axis: a temporal use anywhere makes Vega-Lite parse the field into
                    # timestamps, and the axis would then print milliseconds.
                    {"field": "week", "type": "ordinal"},
                    {"field": "duty_recovered", "format": ",.0f"},
                ],
            },
        }
    if report.get("calibration"):
        specs["calibration"] = {
            "$schema": SCHEMA,
            "title": "Model calibration (inspected declarations)",
            "width": "container",
            "height": 200,
            "layer": [
                {
                    "data": {"values": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]},
                    "mark": {"type": "line", "strokeDash": [4, 4], "color": "#999"},
                    "encoding": {
                        "x": {"field": "x", "type": "quantitative"},
                        "y": {"field": "y", "type": "quantitative"},
                    },
                },
                {
                    "data": {"values": report["calibration"]},
                    "mark": {"type": "line", "point": True},
                    "encoding": {
                        "x": {
                            "field": "predicted",
                            "type": "quantitative",
                            "title": "predicted fraud probability",
                        },
                        "y": {"field": "observed", "type": "quantitative", "title": "observed fraud rate"},
                        "tooltip": [
                            {"field": "n"},
                            {"field": "predicted", "format": ".2f"},
                            {"field": "observed", "format": ".2f"},
                        ],
                    },
                },
            ],
        }
    if data.drift_weekly:
        specs["drift"] = {
            "$schema": SCHEMA,
            "title": "Score drift: PSI against the first week (0.1 shifting, 0.25 drift)",
            "width": "container",
            "height": 160,
            "data": {"values": data.drift_weekly},
            "layer": [
                {
                    "mark": {"type": "line", "point": True},
                    "encoding": {
                        "x": {"field": "week", "type": "temporal"},
                        "y": {"field": "psi", "type": "quantitative", "title": "PSI"},
                    },
                },
                {
                    "data": {"values": [{"t": 0.1}, {"t": 0.25}]},
                    "mark": {"type": "rule", "strokeDash": [3, 3], "color": "#c62828"},
                    "encoding": {"y": {"field": "t", "type": "quantitative"}},
                },
            ],
        }
    return specs
