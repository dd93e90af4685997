"""Issue #16, mobile: at 390 x 844 the sessions, realms and revocation pages fit the screen.
The sessions table keeps the user, the clients, the expiry and the action; each row's IP, type
and start move to a line under the user; the toolbar wraps."""

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import screenshot
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


def horizontal_overflow_px(page: Page) -> int:
    """How far the page is wider than the screen (0: nothing to scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def visible_headers(page: Page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=sessions-table] thead th')]
            .filter(th => th.offsetParent !== null)
            .map(th => th.innerText.replace(/[↕▲▼]/g, '').trim())"""
    )


@pytest.fixture
def mlflow_indexed(kc, transactional_db) -> None:
    kc.seed(realm="mlflow", users=20, sessions=60, offline_ratio=0.3)
    assert realm_index_refresh(realm="mlflow").state == "done"


def test_the_sessions_page_fits_a_phone_with_what_matters(
    login_as, page: Page, mlflow_indexed, csp_violations
):
    page.set_viewport_size(PHONE)
    login_as("operator", "/sessions/mlflow/")

    expect(page.get_by_test_id("sessions-table")).to_be_visible()
    # The selection box (its header text is for screen readers), then what matters.
    headers = visible_headers(page)
    assert len(headers) == 5 and headers[1:] == ["User", "Clients", "Expires in", "Revoke"]
    first_row = page.get_by_test_id("session-row").first
    details = first_row.get_by_test_id("session-details")
    expect(details).to_be_visible()
    expect(details).to_contain_text("started")
    action = first_row.get_by_role("button", name="Sign out").or_(
        first_row.get_by_role("button", name="Revoke")
    )
    expect(action).to_be_visible()
    box = action.bounding_box()
    assert box and box["x"] + box["width"] <= PHONE["width"]  # no sideways scroll to reach it
    assert horizontal_overflow_px(page) <= 0
    screenshot(page, "mobile-390-realm-sessions")

    # On a wide screen the details stay in their own columns, not under the user.
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(first_row.get_by_test_id("session-details")).to_be_hidden()
    assert "IP" in visible_headers(page) and "Started" in visible_headers(page)
    assert csp_violations == []


@pytest.mark.parametrize("path", ["/realms/", "/sessions/", "/revocations/"])
def test_the_realms_sessions_index_and_revocations_pages_fit_a_phone(
    login_as, page: Page, mlflow_indexed, path
):
    page.set_viewport_size(PHONE)
    login_as("admin", path)

    expect(page.locator("main")).to_be_visible()
    assert horizontal_overflow_px(page) <= 0
    screenshot(page, "mobile-390" + path.replace("/", "-").rstrip("-"))
