"""Test setup: real services on loopback (the Keycloak emulator, redis-server, an SMTP sink)
and a real browser (Debian chromium through Playwright)."""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's live_server is safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The test database is a file in var/ (see settings), which a fresh clone does not have yet.
(Path(__file__).resolve().parent.parent / "var").mkdir(exist_ok=True)

pytest_plugins = [
    "tests.fixtures.emulator",
    "tests.fixtures.real_keycloak",
    "tests.fixtures.dashboard",
    "tests.fixtures.services",
    "tests.fixtures.browser",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked sqlite_only are about SQLite itself (a database file that fills up, its
    write lock, its query plans): on another database (DATABASE_URL=postgres://...) they are
    deselected, not skipped."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return
    kept = [item for item in items if not item.get_closest_marker("sqlite_only")]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture(autouse=True)
def _cache_emptied():
    """Django's cache holds the Keycloak circuit breaker; no test inherits another's outage."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def base_url() -> None:
    """No base URL: the browser tests open full live_server URLs.

    Without pytest-base-url, pytest-playwright supplies `base_url` as a session-scoped fixture
    on a plugin instance, which pytest 9 deprecates (PytestRemovedIn10Warning). A conftest
    fixture of the same name takes precedence over a plugin's, so that one never runs.
    """
    return None
