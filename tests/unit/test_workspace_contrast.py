"""The workspace's text colours meet WCAG 2.1 AA (contrast 4.5:1) on the backgrounds they are drawn on."""

from __future__ import annotations

import re
from pathlib import Path

CSS = Path(__file__).resolve().parents[2] / "src" / "borderwatch" / "web" / "static" / "app.css"
AA = 4.5


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _variables() -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS.read_text(encoding="utf-8")))


def test_the_contrast_formula_matches_known_values() -> None:
    assert round(contrast("#ffffff", "#000000"), 1) == 21.0
    assert round(contrast("#ffffff", "#b58105"), 2) == 3.44  # the old yellow badge, which failed


def test_lane_badges_and_text_meet_aa() -> None:
    v = _variables()
    white = "#ffffff"
    pairs = {
        "red badge": (white, v["red"]),
        "yellow badge": (v["on-yellow"], v["yellow"]),
        "green badge": (white, v["green"]),
        "buttons": (white, v["accent"]),
        "body text": (v["fg"], v["bg"]),
        "muted text on the page": (v["muted"], v["bg"]),
        "muted text on cards": (v["muted"], white),
        "errors on cards": (v["red"], white),
        "confirmations on cards": (v["green"], white),
        "links on cards": (v["accent"], white),
    }
    failing = {name: round(contrast(*pair), 2) for name, pair in pairs.items() if contrast(*pair) < AA}
    assert failing == {}
    css = CSS.read_text(encoding="utf-8")
    assert re.search(r"\.lane-yellow\s*\{[^}]*color:\s*var\(--on-yellow\)", css)
