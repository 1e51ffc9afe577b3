"""Issue #22, item 11: the venv's build tools are above the fixes of CVE-2024-6345 and CVE-2025-47273, and
``make`` upgrades them when it bootstraps the venv."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXED_SETUPTOOLS = (78, 1, 1)  # CVE-2025-47273 (path traversal); CVE-2024-6345 was fixed in 70.0


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_setuptools_in_this_environment_has_the_fixes() -> None:
    assert _release(version("setuptools")) >= FIXED_SETUPTOOLS


def test_make_upgrades_the_build_tools_of_a_new_venv() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    upgrade = re.search(r"pip install --quiet --upgrade pip (.+)", makefile)
    assert upgrade is not None
    assert "'setuptools>=78.1.1'" in upgrade.group(1) and "wheel" in upgrade.group(1)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'requires = ["setuptools>=78.1.1", "wheel"]' in pyproject
