from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import need

CHROMIUM = "/usr/bin/chromium"
# Where the journeys save their screenshots (the README's are copied from a run).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def server(django_db_setup, django_db_blocker, live_server):
    """The live server, torn down before the test database is dropped.

    A request thread of the live server can still hold its database connection for a
    moment after the browser closes its keep-alive socket; on PostgreSQL that blocks the
    final DROP DATABASE. Ending those sessions is test-harness cleanup, nothing more.
    """
    yield live_server
    live_server.stop()
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture
def browser():
    need(Path(CHROMIUM).exists(), "needs Debian's chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


TEST_PASSWORD = "pass-for-tests-1"  # noqa: S105 - tests.factories.UserFactory's password


def log_in(page, server, username, *, landing="/", password=TEST_PASSWORD):
    """Log in through the form on `page`, and wait for the person's landing page."""
    page.goto(f"{server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}{landing}")
    return page


def open_as(browser, server, username, *, landing="/", width=1300, height=900):
    """A new browser context (its own cookies) logged in as `username`."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    return log_in(page, server, username, landing=landing)
