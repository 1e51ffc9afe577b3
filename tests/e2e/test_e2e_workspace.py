"""End-to-end in a real browser (Debian's Chromium driven by Playwright; never ``playwright install``):
log in → worklist → open the riskiest declaration → record a seizure → the dashboard's hit rate changes.

Screenshots of the main pages are written to ``tests/e2e/screenshots/`` (ignored by git).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from borderwatch.access import service as access
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, migrate, session_factory, session_scope
from borderwatch.inspections.service import list_cases, record_outcome
from tests.integration.api_support import PASSWORD, seed

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
VENDOR = Path(__file__).resolve().parents[2] / "src" / "borderwatch" / "web" / "static" / "vendor"
SCREENSHOTS = Path(__file__).parent / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"no browser at {CHROMIUM} (make test installs Debian's chromium when run as root)"
    if not (VENDOR / "htmx.min.js").exists():
        return f"front-end libraries missing from {VENDOR} (they are committed: restore them with git)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    import uvicorn

    from borderwatch.web.app import create_app

    tmp = tmp_path_factory.mktemp("e2e")
    settings = Settings(database_url=f"sqlite:///{tmp / 'e2e.db'}", data_dir=tmp / "data", agency="a")
    engine = make_engine(settings.database_url)
    migrate(engine)
    with session_scope(session_factory(engine)) as session:
        access.add_user(
            db_session=session, username="inspector", role="inspector", agency="a", password=PASSWORD
        )
    # Day 1 is done: its red declaration was inspected and nothing was found (red hit rate 0 %).
    seed(settings, agency="a", lrns=["D1-001", "D1-002", "D1-003"], tmp=tmp, day=1)
    seed(settings, agency="a", lrns=["D2-001", "D2-002", "D2-003", "D2-004"], tmp=tmp, day=2)
    with session_scope(session_factory(engine)) as session:
        first = next(c for c in list_cases(session=session, agency="a") if c.lrn == "D1-001")
        record_outcome(
            session=session,
            case_id=first.id,
            result="no_finding",
            officer="inspector",
            recorded_on=date(2026, 3, 1),
        )
    engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the workspace did not start within 20 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_seizure_recorded_in_the_browser_changes_the_dashboard_hit_rate(live_server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    expect.set_options(timeout=20_000)  # a loaded 2-core machine; argon2 is slow on purpose
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.set_default_timeout(15_000)
            page.goto(f"{live_server}/worklist")
            expect(page).to_have_url(f"{live_server}/login?next=/worklist")
            page.screenshot(path=str(SCREENSHOTS / "01-login.png"))
            page.fill("input[name=username]", "inspector")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{live_server}/worklist")

            # the dashboard before: day 1's red inspection found nothing
            page.goto(f"{live_server}/dashboard")
            red_rate = page.locator("#lane-rates tr[data-lane=red] .hit-rate")
            expect(red_rate).to_have_text("0.0 %")
            page.goto(f"{live_server}/worklist")
            rows = page.locator("#worklist tbody tr")
            expect(rows.first).to_contain_text("D2-001")  # riskiest open declaration first
            page.screenshot(path=str(SCREENSHOTS / "02-worklist.png"), full_page=True)

            rows.first.locator("a.lrn").click()
            expect(page).to_have_url(f"{live_server}/declarations/D2-001")
            expect(page.locator("#reasons")).to_contain_text("reason 0a")
            # Both are drawn on the window's load event, after the vendored libraries (megabytes of
            # JavaScript) are parsed: on a loaded 2-core machine that has taken over 20 s.
            expect(page.locator("#explanation svg")).to_have_count(1, timeout=60_000)  # Vega-Lite chart
            expect(page.locator("#network canvas").first).to_be_attached(timeout=60_000)  # Cytoscape.js
            expect(page.locator("#screening")).to_contain_text("No party")
            page.screenshot(path=str(SCREENSHOTS / "03-declaration.png"), full_page=True)

            page.select_option("select[name=result]", "seizure")
            page.fill("input[name=goods]", "counterfeit shirts")
            page.fill("input[name=quantity]", "300")
            page.fill("input[name=duty_recovered]", "1250")
            page.click("#outcome-form button[type=submit]")
            expect(page.locator("#case-closed")).to_contain_text("seizure")
            page.screenshot(path=str(SCREENSHOTS / "04-seizure.png"), full_page=True)

            page.goto(f"{live_server}/dashboard")
            expect(red_rate).to_have_text("50.0 %")
            expect(page.locator("#chart-lanes svg")).to_have_count(1)
            page.screenshot(path=str(SCREENSHOTS / "05-dashboard.png"), full_page=True)

            page.goto(f"{live_server}/profiles")
            page.screenshot(path=str(SCREENSHOTS / "06-profiles.png"), full_page=True)
        finally:
            browser.close()
