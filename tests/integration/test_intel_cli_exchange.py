"""``borderwatch intel partners add``, ``pull`` and ``push`` through the CLI against a partner's real server:
a second pull asks only for what was added since the first (the partner's own date), ``--full`` for all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from taxii2client.v21 import Collection
from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.core.settings import get_settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.intel import store
from tests.integration.intel_support import add_system, borderwatch_serve, database, indicator

pytestmark = pytest.mark.xdist_group("intel_cli_exchange")
COLLECTION = "6d3f1a2b-8c9e-4f7a-a1b2-c3d4e5f6a7b8"


def test_incremental_pull_and_push_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    partner_dir, local_dir = tmp_path / "a", tmp_path / "b"
    partner_dir.mkdir()
    local_dir.mkdir()
    with database("sqlite", partner_dir) as partner_url, database("sqlite", local_dir) as local_url:
        token = add_system(partner_url, username="b-on-a", agency="b")
        engine = make_engine(partner_url)
        with session_scope(session_factory(engine)) as session:
            store.add_collection(
                session=session,
                agency="a",
                title="pacific",
                readers=["b"],
                writers=["b"],
                collection_id=COLLECTION,
            )
        engine.dispose()
        with borderwatch_serve(partner_url, partner_dir, agency="a") as base:
            url = f"{base}/taxii2/api/collections/{COLLECTION}/"
            remote = Collection(url, user="b-on-a", password=token)
            remote.add_objects(json.dumps({"objects": [indicator(n) for n in range(3)]}))
            monkeypatch.setenv("BORDERWATCH_DATABASE_URL", local_url)
            monkeypatch.setenv("BORDERWATCH_DATA_DIR", str(local_dir / "data"))
            monkeypatch.setenv("BORDERWATCH_AGENCY", "b")
            monkeypatch.setenv("BORDERWATCH_PARTNER_SECRET", token)
            get_settings.cache_clear()
            cli = CliRunner()
            try:
                added = cli.invoke(app, ["intel", "partners", "add", "a", url])
                assert added.exit_code == 0, added.output
                pull = ["intel", "pull", "a", "--user", "b-on-a"]
                first = cli.invoke(app, pull)
                assert first.exit_code == 0, first.output
                assert "pulled 3 objects from a: 3 new" in first.output, first.output
                remote.add_objects(json.dumps({"objects": [indicator(n) for n in range(3, 5)]}))
                second = cli.invoke(app, pull)
                assert second.exit_code == 0, second.output
                assert (
                    "pulled 2 objects added after " in second.output and ": 2 new, 0 already" in second.output
                )
                nothing = cli.invoke(app, pull)
                assert "pulled 0 objects added after" in nothing.output, nothing.output
                full = cli.invoke(app, [*pull, "--full"])
                assert "pulled 5 objects from a: 0 new, 5 already held" in full.output, full.output
                pushed = cli.invoke(app, ["intel", "push", "a", "--user", "b-on-a", "--sightings"])
                assert pushed.exit_code == 0 and "sent 0 sightings to a" in pushed.output, pushed.output
                refused = cli.invoke(app, ["intel", "pull", "nobody", "--user", "b-on-a"])
                assert refused.exit_code != 0 and "no partner 'nobody'" in refused.output
            finally:
                get_settings.cache_clear()
