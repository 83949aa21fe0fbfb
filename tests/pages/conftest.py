"""The pages' browser tests share one demo platform and one chromium for the session; each
test gets fresh phone or desktop contexts (tests/support/browser.py)."""

from __future__ import annotations

import pytest

from tests.support import browser as support


def pytest_collection_modifyitems(items):
    # Every test here drives chromium against a real platform (RabbitMQ included).
    for item in items:
        if "tests/pages/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.broker)


def pytest_terminal_summary(terminalreporter):
    if support.SCREENSHOTS.is_dir():
        terminalreporter.write_line(f"page screenshots: {support.SCREENSHOTS.resolve()}")


@pytest.fixture(scope="session")
def platform(tmp_path_factory):
    """An HttpClient on the session's platform (its URL is `platform.base_url`)."""
    yield from support.running_platform(tmp_path_factory.mktemp("pages-platform"))


@pytest.fixture(scope="session")
def browser():
    yield from support.launched_browser()


@pytest.fixture
def phone(browser, platform):
    yield from support.watched_context(browser, platform.base_url, support.PHONE)


@pytest.fixture
def desktop(browser, platform):
    yield from support.watched_context(browser, platform.base_url, support.DESKTOP)
