"""``borderwatch intel collections add|list|remove`` and groups, on both databases."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.core.settings import Settings


def test_collections_and_groups_from_the_command_line(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BORDERWATCH_DATA_DIR", str(settings.data_dir))
    from borderwatch.core.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    added = runner.invoke(
        app, ["intel", "collections", "add", "seizures", "--agency", "a", "--read", "b", "--write", "c"]
    )
    assert added.exit_code == 0, added.output
    collection_id = added.output.split()[1]
    listed = runner.invoke(app, ["intel", "collections", "list", "--agency", "a"])
    assert collection_id in listed.output and "seizures" in listed.output
    assert collection_id not in runner.invoke(app, ["intel", "collections", "list", "--agency", "b"]).output
    refused = runner.invoke(app, ["intel", "collections", "remove", collection_id, "--agency", "b"])
    assert refused.exit_code == 2 and "no collection" in refused.output
    group = runner.invoke(
        app, ["intel", "groups", "add", "pacific", "--agency", "a", "--member", "b", "--kind", "seizure"]
    )
    assert group.exit_code == 0 and "covers seizure" in group.output
    removed = runner.invoke(app, ["intel", "collections", "remove", collection_id, "--agency", "a"])
    assert removed.exit_code == 0, removed.output
    assert collection_id not in runner.invoke(app, ["intel", "collections", "list", "--agency", "a"]).output
    get_settings.cache_clear()
