"""The first run works offline: a fresh clone serves the workspace with every script and style it names,
without npm on the PATH and without a network (no CDN, no build step at install or run time)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from borderwatch.access import service as access
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, migrate, session_factory, session_scope
from tests.integration.api_support import PASSWORD, seed

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("/worklist", "/declarations/O-001", "/dashboard", "/upload", "/profiles", "/docs", "/redoc")
ASSET = re.compile(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"')

pytestmark = pytest.mark.slow


NODE_TOOLS = ("npm", "npx", "node", "corepack")


def _without_npm(tmp: Path) -> str:
    """A PATH on which npm and node cannot be found: folders that hold them are replaced by a folder of
    links to their other programs (on Debian npm sits in /usr/bin beside make, git and sh)."""
    links = tmp / "bin-without-npm"
    links.mkdir(exist_ok=True)
    kept: list[str] = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        where = Path(folder)
        if not any((where / tool).exists() for tool in NODE_TOOLS):
            kept.append(folder)
            continue
        for program in where.iterdir():
            target = links / program.name
            if program.name not in NODE_TOOLS and not target.exists():
                target.symlink_to(program)
    kept.append(str(links))
    path = os.pathsep.join(kept)
    assert shutil.which("npm", path=path) is None and shutil.which("node", path=path) is None
    return path


def test_make_demo_serve_and_test_never_call_npm(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {**os.environ, "PATH": _without_npm(tmp_path)}
    planned = subprocess.run(
        ["make", "-n", "-B", "demo", "serve", "test"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert planned.returncode == 0, planned.stderr
    assert "pytest" in planned.stdout and "borderwatch.demo" in planned.stdout
    assert "npm" not in planned.stdout


def _clone(tmp: Path) -> Path:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: a fresh clone cannot be made")
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    return clone


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _prepare(tmp: Path) -> Settings:
    settings = Settings(database_url=f"sqlite:///{tmp / 'offline.db'}", data_dir=tmp / "data", agency="a")
    engine = make_engine(settings.database_url)
    migrate(engine)
    with session_scope(session_factory(engine)) as session:
        access.add_user(db_session=session, username="ana", role="admin", agency="a", password=PASSWORD)
    engine.dispose()
    seed(settings, agency="a", lrns=["O-001", "O-002"], tmp=tmp)
    return settings


def test_a_fresh_clone_serves_every_script_and_style_without_npm(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    settings = _prepare(tmp_path)
    port = _free_port()
    env = {
        **os.environ,
        "PATH": _without_npm(tmp_path),
        "PYTHONPATH": str(clone / "src"),  # the clone's code and files, not this checkout's
        "BORDERWATCH_DATABASE_URL": settings.database_url,
        "BORDERWATCH_DATA_DIR": str(settings.data_dir),
        "BORDERWATCH_AGENCY": "a",
    }
    where = subprocess.run(
        [sys.executable, "-c", "import borderwatch; print(borderwatch.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(clone)), where.stdout
    command = [sys.executable, "-m", "borderwatch.cli.main", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base, server)
        with httpx2.Client(base_url=base, timeout=30) as client:
            _log_in(client)
            assets: set[str] = set()
            for path in PAGES:
                page = client.get(path)
                assert page.status_code == 200, (path, page.text[:300])
                found = set(ASSET.findall(page.text))
                assert all(a.startswith("/") for a in found), (path, found)  # nothing from elsewhere
                assets |= found
            assert {"/static/vendor/htmx.min.js", "/static/vendor/vega.min.js", "/static/app.css"} <= assets
            assert "/static/vendor/cytoscape.min.js" in assets
            for asset in sorted(assets):
                answer = client.get(asset)
                assert answer.status_code == 200 and len(answer.content) > 0, asset
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_for(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300  # a loaded 2-core machine: the imports alone can take a minute
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stderr = server.stderr.read().decode() if server.stderr else ""
            pytest.fail(f"borderwatch serve exited: {stderr[-2000:]}")
        try:
            if httpx2.get(f"{base}/api/health", timeout=2).status_code < 500:
                return
        except httpx2.TransportError:
            time.sleep(0.2)
    pytest.fail("borderwatch serve did not answer within 300 s")


def _log_in(client: httpx2.Client) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post(
        "/login",
        data={"username": "ana", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=True,
    )
    assert done.status_code == 200 and "Worklist" in done.text
