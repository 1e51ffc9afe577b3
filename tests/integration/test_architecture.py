"""The seams between stages, checked on the source: what import-linter cannot say about names.

Each stage package states its public surface in ``__all__``; no stage, test or benchmark imports a private
name (``_x``) of another stage.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "borderwatch"
STAGES = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
# Known, each to be given a public name by its stage: the hostile-ingest test builds a batch context, the
# traveller benches time the MRZ reader and the OCR engine alone, the ledger bench reads the log's tables.
KNOWN_PRIVATE = {
    "bench/ledger.py",
    "tests/integration/test_ingest_hostile.py",
    "bench/travellers.py",
    "bench/travellers_ocr.py",
}


def _sources(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _borderwatch_imports(tree: ast.AST) -> Iterator[tuple[str, list[str], int]]:
    """(module, imported names, line) of every ``borderwatch`` import in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("borderwatch"):
            yield node.module, [alias.name for alias in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("borderwatch"):
                    yield alias.name, [], node.lineno


def _stage_of(path: Path) -> str | None:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def test_every_stage_package_states_its_public_surface() -> None:
    for stage in STAGES:
        package = importlib.import_module(f"borderwatch.{stage}")
        assert isinstance(getattr(package, "__all__", None), list), f"borderwatch.{stage} has no __all__"


def test_no_module_imports_a_private_name_of_another() -> None:
    """Tests and benchmarks use no private name of the package; a stage uses none of another stage."""
    wrong = []
    for path in _sources("src", "tests", "bench"):
        relative = str(path.relative_to(ROOT))
        if relative in KNOWN_PRIVATE:
            continue
        tree = ast.parse(path.read_text())
        modules = set()
        own = _stage_of(path) if path.is_relative_to(PACKAGE) else None
        for module, names, line in _borderwatch_imports(tree):
            if own is not None and module.split(".")[1:2] == [own]:
                continue  # a stage's modules may share their own helpers
            private = [n for n in names if n.startswith("_") and n != "__all__"]
            wrong += [f"{relative}:{line} {module}.{n}" for n in private]
            modules.update(names or [module.split(".")[-1]])
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                wrong.append(f"{relative}:{node.lineno} {node.value.id}.{node.attr}")
    assert not wrong, "\n".join(wrong)


def test_routers_and_pages_call_services_not_routers() -> None:
    """A router (``web/api``) imports no other router and a page (``web/ui``) no router: what both need
    lives in ``web/services``."""
    found = []
    for path in _sources("src/borderwatch/web/api", "src/borderwatch/web/ui"):
        name = str(path.relative_to(ROOT))
        for module, names, line in _borderwatch_imports(ast.parse(path.read_text())):
            targets = (
                [module] + [f"{module}.{n}" for n in names] if module == "borderwatch.web.api" else [module]
            )
            for target in targets:
                if target.startswith("borderwatch.web.api."):
                    found.append(f"{name}:{line} imports {target}")
    assert found == []
