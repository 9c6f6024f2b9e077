"""Browser journeys: Playwright for Python driving Debian's chromium (no browser download).

Each test gets a fresh browser context. Any page answering 5xx, any uncaught page error and any
console error fails the test. Screenshots of each step go to the test's temporary directory; the
walk of every page (``test_walk.py``) writes the ones in ``docs/screenshots/`` (the README's) when
``UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The README's screenshots are rewritten only when asked (UPDATE_SCREENSHOTS=1), so that an
# ordinary test run leaves the work tree as it found it; otherwise they go to a scratch folder.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "console-screenshots"
)
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are ordinary synchronous code, so Django's async-safety guard must stand aside.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def playwright_driver(transactional_db):
    """Playwright for one test, started after the database is set up and stopped before it is
    flushed. While Playwright's event loop runs in this thread, Django's connection handler (an
    asgiref ``Local``) hands out different connection objects, and the test case's own set-up and
    tear-down would not see the serialized data it must restore.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def browser(playwright_driver):
    """Headless Debian chromium for one test."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}: apt-get install chromium")
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class Journey:
    """A browser page that records problems and takes numbered screenshots of each step."""

    def __init__(self, page, base_url: str, name: str, directory: Path = SCREENSHOTS) -> None:
        self.page = page
        self.base_url = base_url
        self.name = name
        self.directory = directory
        self.step = 0
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                message.type == "error" and self.problems.append(f"console error: {message.text}")
            ),
        )
        page.on(
            "response",
            lambda response: (
                response.status >= 500
                and self.problems.append(f"HTTP {response.status} from {response.url}")
            ),
        )

    def goto(self, path: str):
        return self.page.goto(self.base_url + path)

    def shot(self, label: str) -> Path:
        self.step += 1
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self.name}-{self.step:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def journey(browser, live_server, request, tmp_path):
    """A fresh context in the language named by the test's ``lang`` parameter (default zh-hans)."""
    lang = getattr(request, "param", None) or "zh-hans"
    context = browser.new_context(
        locale="zh-CN" if lang == "zh-hans" else "en-US",
        viewport={"width": 1366, "height": 900},
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9" if lang == "zh-hans" else "en"},
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    name = request.node.originalname.removeprefix("test_") + f"-{lang}"
    journey = Journey(page, live_server.url, name, tmp_path / "screenshots")
    yield journey
    context.close()
    assert journey.problems == [], "\n".join(journey.problems)
