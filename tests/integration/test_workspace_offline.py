"""The first run works offline: a fresh clone runs the demo, then serves the workspace with every script and
style it names, without npm on the PATH and without a network
(no CDN, no build step at install or run time)."""

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

ROOT = Path(__file__).resolve().parents[2]
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


DEMO_PAGES = ("/worklist", "/dashboard", "/upload", "/profiles", "/models", "/docs", "/redoc")
EXPORT = re.compile(r"export (BORDERWATCH_[A-Z_]+)=(\S+)")
SIGN_IN = re.compile(r"sign in as (\S+) with the password: (.+?)\s*(?:│|$)", re.MULTILINE)
DECLARATION_LINK = re.compile(r'href="(/declarations/[^"?#]+)"')


def _run_demo(clone: Path, env: dict[str, str], tmp: Path) -> tuple[dict[str, str], str, str]:
    """``make demo``'s command in the clone; returns what its closing panel says to export and log in with."""
    demo = subprocess.run(
        [sys.executable, "-m", "borderwatch.demo", "--dir", str(tmp / "demo-out")],
        env={**env, "COLUMNS": "250"},  # one printed line per instruction, not wrapped
        cwd=clone,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    exports = dict(EXPORT.findall(demo.stdout))
    assert {"BORDERWATCH_DATABASE_URL", "BORDERWATCH_DATA_DIR"} <= exports.keys(), demo.stdout[-3000:]
    sign_in = SIGN_IN.search(demo.stdout)
    assert sign_in is not None, demo.stdout[-3000:]
    assert "borderwatch serve --port" in demo.stdout
    return exports, sign_in.group(1), sign_in.group(2)


def test_make_demo_then_serve_as_printed_loads_every_script_and_style_without_npm(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    env = {
        **os.environ,
        "PATH": _without_npm(tmp_path),
        "PYTHONPATH": str(clone / "src"),  # the clone's code and files, not this checkout's
    }
    for name in [key for key in env if key.startswith("BORDERWATCH_")]:
        del env[name]  # only what the demo prints
    where = subprocess.run(
        [sys.executable, "-c", "import borderwatch; print(borderwatch.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(clone)), where.stdout
    exports, username, password = _run_demo(clone, env, tmp_path)
    port = _free_port()
    command = [sys.executable, "-m", "borderwatch.cli.main", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env={**env, **exports}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base, server)
        with httpx2.Client(base_url=base, timeout=60) as client:
            _log_in(client, username, password)
            worklist = client.get("/worklist")
            declaration = DECLARATION_LINK.search(worklist.text)
            assert declaration is not None, "the demo's worklist lists no declaration"
            assets: set[str] = set()
            for path in (*DEMO_PAGES, declaration.group(1)):
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


def _log_in(client: httpx2.Client, username: str, password: str) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=True,
    )
    assert done.status_code == 200 and "Worklist" in done.text
