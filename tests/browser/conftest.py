"""A real headless Chromium, driven by Playwright, against pytest-django's live server.

Playwright's own browser download is not used: the browser is the system's Chromium
(Debian's `chromium` package; `./oms test` installs it when it can), or OMS_CHROMIUM.
"""

import os
import shutil

import pytest

from tests.dispatch.conftest import in_process_venue  # noqa: F401  (fixture)

# Playwright's sync API runs an event loop in the test's thread; the ORM calls the tests make
# between page actions are still plain synchronous calls on that thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def chromium_path() -> str:
    for candidate in (os.environ.get("OMS_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    pytest.fail("no Chromium for the browser tests: install Debian's `chromium` package "
                "(./oms test does so when it runs as root with apt-get) or set OMS_CHROMIUM")


@pytest.fixture(scope="module")
def browser():
    # Module-scoped, not session: Playwright's sync API runs an event loop on this thread
    # while it is up, and tests after these (asyncio.run in the exchange's) need it gone.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def operator_page(page, live_server, operator):
    operator.set_password("operator-pass-1")
    operator.save()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", "operator-pass-1")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page
