"""Every main page works under the production security headers: nothing blocked by the CSP."""

import pytest

from tests.fixtures.browser import screenshot

MAIN_PAGES = [
    "/realms/",
    "/sessions/",
    "/sessions/mlflow/",
    "/revocations/",
    "/lifespans/",
    "/lifespans/mlflow/",
    "/lifespans/mlflow/clients/",
    "/lifespans/mlflow/job-survival/",
    "/reports/",
    "/reports/new/",
    "/ledger/",
]


@pytest.fixture
def production_headers(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
    # Secure cookies stay off: the test server speaks plain HTTP, and the browser would drop
    # them. tests/docker checks that production settings turn them on.


def test_the_main_pages_run_under_the_content_security_policy(
    login_as, live_server, csp_violations, production_headers, kc
):
    page = login_as("admin")
    seen = []
    for path in MAIN_PAGES:
        response = page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        seen.append(path)
    screenshot(page, "csp-last-page")
    assert csp_violations == [], csp_violations
    assert seen == MAIN_PAGES
    # Control: the detector does see a violation when one happens.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.x = 1'; document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert csp_violations, "an inline script should have been reported as blocked"
