"""Playwright driving Debian's Chromium (no browser downloads here)."""

import shutil

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import ARTIFACTS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, request):
    context = chromium.new_context(locale="hu-HU", viewport={"width": 1024, "height": 760})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def screenshot(page, name):
    """Save a full-page screenshot under tests/artifacts/ (ignored by git, kept by CI)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def later_on_offer(page, later="Később"):
    """A business user or phone line not linked to a Telekom account is offered
    one after the login (``/account/offer``): press "Később" (``later`` in
    another language) and go on where the login was going."""
    import re

    page.wait_for_url(re.compile(r"/account/offer\?"))
    page.get_by_role("button", name=later, exact=True).click()
