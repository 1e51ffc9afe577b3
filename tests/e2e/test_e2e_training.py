"""End-to-end in a real browser (Debian's Chromium driven by Playwright): a trainee logs in, plays a training
exercise to the end and reads the debrief; the instructor's cohort dashboard then shows that attempt.

Screenshots are written to ``tests/e2e/screenshots/`` (ignored by git), named ``training-*.png``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from borderwatch.access import service as access
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, migrate, session_factory, session_scope
from borderwatch.training import service
from borderwatch.training.scenarios import get_scenario
from tests.e2e.test_e2e_workspace import CHROMIUM, FLAGS, SCREENSHOTS, VENDOR
from tests.integration.api_support import PASSWORD

pytestmark = pytest.mark.e2e
SCENARIO = "importer-ring"


@pytest.fixture(scope="module")
def training_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    if not CHROMIUM.exists() or not (VENDOR / "vega-embed.min.js").exists():
        pytest.skip("no Chromium or no vendored front-end libraries (make vendor)")
    pytest.importorskip("playwright.sync_api")
    import uvicorn

    from borderwatch.web.app import create_app

    tmp = tmp_path_factory.mktemp("e2e-training")
    settings = Settings(database_url=f"sqlite:///{tmp / 'e2e.db'}", data_dir=tmp / "data", agency="a")
    engine = make_engine(settings.database_url)
    migrate(engine)
    with session_scope(session_factory(engine)) as session:
        access.add_user(db_session=session, username="kim", role="trainee", agency="a", password=PASSWORD)
        access.add_user(db_session=session, username="park", role="instructor", agency="a", password=PASSWORD)
    engine.dispose()
    # Building an exercise trains the model on its history (seconds on a loaded machine): built once here,
    # the server (same process) finds it built when the trainee presses Start.
    service.exercise_for(get_scenario(SCENARIO), seed=1, aids=True, timed=False)
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
    yield f"http://127.0.0.1:{port}", settings
    server.should_exit = True
    thread.join(timeout=10)


def _log_in(page: object, base: str, username: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/training")


def test_a_trainee_plays_an_exercise_and_the_instructor_sees_the_attempt(
    training_server: tuple[str, Settings],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, settings = training_server
    SCREENSHOTS.mkdir(exist_ok=True)
    expect.set_options(timeout=30_000)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(f"{base}/training")
            expect(page).to_have_url(f"{base}/login?next=/training")
            _log_in(page, base, "kim")
            expect(page.locator("#scenarios tbody tr")).to_have_count(9)  # and closed cases
            expect(page.locator("#cohort-link")).to_have_count(0)  # a trainee has no cohort dashboard
            page.screenshot(path=str(SCREENSHOTS / "training-1-scenarios.png"), full_page=True)

            page.locator(f"tr[data-scenario={SCENARIO}] button[type=submit]").click()
            expect(page).to_have_url(
                __import__("re").compile(rf"{base}/training/attempts/\d+$"), timeout=120_000
            )
            attempt_id = int(page.url.rsplit("/", 1)[1])
            engine = make_engine(settings.database_url)
            with session_factory(engine)() as session:
                exercise = service.exercise_of(service.get_attempt(session=session, attempt_id=attempt_id))
            engine.dispose()
            cards = page.locator("section.declaration")
            expect(cards).to_have_count(exercise.size)
            page.screenshot(path=str(SCREENSHOTS / "training-2-queue.png"))

            # The trainee spots the ring (importer ids sharing an address, one broker for them all) and sends
            # those declarations to inspection, ticking what they saw, within the budget.
            frauds = [t for t in exercise.truth if t["fraud"]][: exercise.budget]
            for row in frauds:
                card = page.locator(f"#d-{row['lrn']}")
                card.locator("input[value=red]").check()
                card.locator(f"select[name='confidence-{row['lrn']}']").select_option("0.9")
                card.locator("summary").click()
                for indicator in row["indicators"]:
                    card.locator(f"input[value={indicator}]").check()
            expect(page.locator("#budget")).to_have_text(
                f"{len(frauds)} of {exercise.budget} inspections used"
            )
            page.locator(f"#d-{frauds[0]['lrn']}").screenshot(
                path=str(SCREENSHOTS / "training-3-decision.png")
            )

            page.click("#finish")
            expect(page).to_have_url(f"{base}/training/attempts/{attempt_id}/debrief")
            expect(page.locator("#scores tr[data-who=you] .hit-rate")).to_have_text("100.0 %")
            expect(page.locator("#scores tr[data-who=model]")).to_have_count(1)
            expect(page.locator("#frauds tbody tr")).to_have_count(sum(t["fraud"] for t in exercise.truth))
            page.screenshot(path=str(SCREENSHOTS / "training-4-debrief.png"), full_page=True)

            page.click("header form button[type=submit]")  # log out
            page.goto(f"{base}/training")
            _log_in(page, base, "park")
            page.click("#cohort-link")
            expect(page).to_have_url(f"{base}/training/cohort")
            expect(page.locator(f"#cohort-attempts tr[data-attempt='{attempt_id}']")).to_contain_text("kim")
            expect(page.locator(f"#cohort-scenarios tr[data-scenario={SCENARIO}]")).to_contain_text("100.0 %")
            expect(page.locator("#chart-cohort svg")).to_have_count(1, timeout=60_000)  # Vega-Lite
            page.screenshot(path=str(SCREENSHOTS / "training-5-cohort.png"), full_page=True)
        finally:
            browser.close()
