"""The operational loop end to end, from a fresh database through public commands and the browser only
(issue #13): users, history, a model and a watchlist by the command line; then in Chromium an analyst
uploads a file and its declarations reach the worklist with lanes by themselves, the one with a sanctioned
seller held in red with the screening reason; the analyst confirms the hit; a supervisor assigns the case
and raises another declaration's lane with a reason; the inspector records a seizure on their own case;
``borderwatch retrain`` registers a model that the supervisor promotes; the dashboard changes.

Screenshots go to ``tests/e2e/screenshots/loop-*.png`` (ignored by git; docs/screenshots/ keeps a copy
of the ones the README shows).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.e2e.test_e2e_workspace import CHROMIUM, FLAGS, SCREENSHOTS, _skip_reason
from tests.integration.api_support import PASSWORD, declaration_json

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SELLER = "Aerospace Parts Trading Company Ltd"
PEOPLE = (("ana", "analyst"), ("sam", "supervisor"), ("ines", "inspector"))


@dataclass
class Loop:
    base: str
    env: dict[str, str]
    folder: Path
    upload: Path


def _borderwatch(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    """One public command, as a user types it (the same executable the package installs)."""
    done = subprocess.run(
        [sys.executable, "-m", "borderwatch.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"borderwatch {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _week(folder: Path) -> Path:
    """Twenty declarations of a new day, one of them sold by a listed company."""
    rows: list[dict[str, Any]] = []
    for i in range(20):
        body = declaration_json(f"E-{i:03d}", day=2, value=900.0 + 53 * i, importer=f"IMP{i % 4}")
        rows.append(body)
    held = declaration_json("E-HIT", day=2, value=15000.0, importer="IMP9")
    parties = held["parties"]
    assert isinstance(parties, dict)
    parties["seller"] = {"id": "SEL9", "name": SELLER, "country": "IR"}
    rows.append(held)
    path = folder / "arrivals.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("loop")
    env = {
        **os.environ,
        "BORDERWATCH_DATABASE_URL": f"sqlite:///{folder / 'loop.db'}",
        "BORDERWATCH_DATA_DIR": str(folder / "data"),
        "BORDERWATCH_AGENCY": "a",
        "COLUMNS": "200",
    }
    for name, role in PEOPLE:
        _borderwatch(env, "users", "add", name, "--role", role, "--agency", "a", "--password", PASSWORD)
    history = folder / "history.csv"
    _borderwatch(
        env, "generate", "-n", "900", "--seed", "3", "--start", "2026-01-01", "--days", "40", str(history)
    )
    _borderwatch(env, "ingest", str(history), "--no-select")
    _borderwatch(env, "train")
    listing = folder / "sanctions.csv"
    listing.write_text(f"id,name,kind,aliases,nationality\n1,{SELLER},organization,,IR\n", encoding="utf-8")
    _borderwatch(env, "watchlist", "load", str(listing), "--format", "csv", "--list", "ofac")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    log = (folder / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "borderwatch.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # a loaded 2-core machine: imports and migrations are slow
        while True:
            assert server.poll() is None, (folder / "serve.log").read_text(encoding="utf-8")[-3000:]
            try:
                if httpx2.get(f"{base}/api/health", timeout=2).status_code < 500:
                    break
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, "borderwatch serve did not answer within 300 s"
            time.sleep(0.3)
        yield Loop(base=base, env=env, folder=folder, upload=_week(folder))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _log_in(page: Any, base: str, username: str) -> None:
    from playwright.sync_api import expect

    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/worklist$"))


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"loop-{name}.png"), full_page=True)


def test_upload_to_promotion_through_the_browser(loop: Loop) -> None:
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    expect.set_options(timeout=30_000)  # a loaded 2-core machine; argon2 is slow on purpose
    base = loop.base
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.set_default_timeout(30_000)

            # the analyst uploads the day's file: no command runs after it
            _log_in(page, base, "ana")
            page.goto(f"{base}/upload")
            page.set_input_files("input[name=file]", str(loop.upload))
            page.click("#upload-form button[type=submit]")
            expect(page.locator("#job .job-status")).to_have_text("done", timeout=120_000)
            expect(page.locator("#job")).to_contain_text("stored 21")
            _shot(page, "01-upload")

            page.goto(f"{base}/worklist")
            rows = page.locator("#worklist tbody tr")
            held = rows.filter(has_text="E-HIT")
            expect(held).to_have_count(1)
            held = page.locator("#worklist tbody tr", has_text="E-HIT")
            expect(held.locator(".lane")).to_have_text("red")
            expect(held).to_contain_text("screening")
            _shot(page, "02-worklist")
            # every declaration of the file has a lane: the red and yellow ones here, the rest green
            page.goto(f"{base}/worklist?q=E-")
            selected = int(page.locator("#total").inner_text())
            page.goto(f"{base}/worklist?q=E-&lane=green")
            assert selected + int(page.locator("#total").inner_text()) == 21
            page.goto(f"{base}/worklist")

            held.locator("a.lrn").click()
            expect(page.locator("#reasons")).to_contain_text(f"screening: seller {SELLER}")
            expect(page.locator("#reasons-source")).to_contain_text("reasons from model")
            _shot(page, "03-held-declaration")

            # the analyst confirms the hit in the review queue (no verdict is preselected)
            page.goto(f"{base}/screening/review")
            hit = page.locator("#review tbody tr", has_text="E-HIT")
            expect(hit).to_contain_text(SELLER)
            hit.locator("input[value=confirmed]").check()
            hit.locator("input[name=note]").fill("same registration number as the OFAC entry")
            hit.locator("button[type=submit]").click()
            expect(page.locator("#decided")).to_contain_text("confirmed")
            _shot(page, "04-review")

            # the supervisor: the dashboard before, the case assigned, another lane raised with a reason
            _log_in(page, base, "sam")
            page.goto(f"{base}/dashboard")
            expect(page.locator("#lane-rates")).to_contain_text("No outcomes recorded yet")
            page.goto(f"{base}/declarations/E-HIT")
            page.locator("#case a[href^='/cases/']").first.click()
            page.select_option("#assign-form select[name=officer]", "ines")
            page.click("#assign-form button[type=submit]")
            expect(page.locator("#done")).to_have_text("Case assigned.")
            expect(page.locator("#history")).to_contain_text("assigned to ines")
            _shot(page, "05-case-assigned")

            page.goto(f"{base}/worklist?lane=green&q=E-0")
            green = page.locator("#worklist a.lrn").first.inner_text()
            page.goto(f"{base}/declarations/{green}")
            page.select_option("#lane-form select[name=lane]", "yellow")
            page.fill("#lane-form input[name=reason]", "tip-off from the port police")
            page.click("#lane-form button[type=submit]")
            expect(page.locator("#overridden")).to_have_text("Lane set to yellow.")
            expect(page.locator("#override-reason")).to_contain_text("tip-off from the port police")
            _shot(page, "06-lane-override")

            # the inspector records a seizure on their own case
            _log_in(page, base, "ines")
            page.goto(f"{base}/worklist?mine=true")
            mine = page.locator("#worklist tbody tr")
            expect(mine).to_have_count(1)
            mine.locator("a[href^='/cases/']").click()
            form = page.locator("#outcome-form")
            form.locator("select[name=result]").select_option("seizure")
            form.locator("input[name=goods]").fill("aircraft engine parts without licence")
            form.locator("input[name=quantity]").fill("42")
            form.locator("select[name=quantity_unit]").select_option("PCE")
            form.locator("input[name=duty_recovered]").fill("3100")
            form.locator("button[type=submit]").click()
            expect(page.locator("#done")).to_have_text("Outcome recorded.")
            expect(page.locator("#history")).to_contain_text("closed")
            _shot(page, "07-seizure")

            # retrain registers a model; the supervisor promotes it; the dashboard has changed
            retrained = _borderwatch(loop.env, "retrain")
            assert "regist" in retrained.lower(), retrained
            _log_in(page, base, "sam")
            page.goto(f"{base}/models")
            waiting = page.locator("#models tbody tr:not(.active)").first
            version = (waiting.get_attribute("id") or "").removeprefix("model-")
            assert version
            waiting.locator("button", has_text="Promote").click()
            expect(page.locator("#done")).to_contain_text(f"promoted {version}")
            expect(page.locator(f"[id='model-{version}']")).to_have_class("active")
            _shot(page, "08-models")

            page.goto(f"{base}/dashboard")
            red = page.locator("#lane-rates tr[data-lane=red] .hit-rate")
            expect(red).to_have_text("100.0 %")
            _shot(page, "09-dashboard")
        finally:
            browser.close()
