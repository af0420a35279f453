"""Real-browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

`make test` installs /usr/bin/chromium (apt) and axe-core (npm) when they are missing and sets
REQUIRE_BROWSER=1, so there a missing browser fails the run; elsewhere the tests are skipped.
Never run `playwright install`: the tests use the system Chromium.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.management import call_command

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse the
# test's own database access as "async unsafe". The live server runs in its own thread.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from tests.support.browser import AXE, BASE_DIR, CHROMIUM, missing

ARTIFACTS = BASE_DIR / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    reason = missing()
    if reason is None:
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":  # tests/conftest.py has stopped the run already
        raise pytest.UsageError(f"Browser tests cannot run: {reason}")
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _page(browser, **options):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


@pytest.fixture
def page(browser):
    context, page = _page(browser)
    yield page
    context.close()


@pytest.fixture
def page_without_js(browser):
    """The site needs no JavaScript: forms and links work with it switched off."""
    context, page = _page(browser, java_script_enabled=False)
    yield page
    context.close()


@pytest.fixture
def site(live_server, transactional_db):
    """The live server with the seed content loaded: the pages people will actually read."""
    fixtures = sorted(str(p) for p in (BASE_DIR / "fixtures").glob("*.json"))
    call_command("loaddata", *fixtures, verbosity=0)
    return live_server.url


@pytest.fixture(scope="session")
def axe_source() -> str:
    return AXE.read_text()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
