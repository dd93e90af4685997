"""Test setup: real services on loopback (the Keycloak emulator, redis-server, an SMTP sink)
and a real browser (Debian chromium through Playwright)."""

import os

# Playwright's sync API runs an event loop in the test thread; Django's live_server is safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = [
    "tests.fixtures.emulator",
    "tests.fixtures.dashboard",
    "tests.fixtures.services",
    "tests.fixtures.browser",
]
