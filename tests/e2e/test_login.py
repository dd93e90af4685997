"""The first thing an admin does: sign in through Keycloak's own login page."""

import re

from playwright.sync_api import expect

from tests.fixtures.browser import screenshot


def test_an_admin_signs_in_through_keycloak_and_sees_the_realms(
    login_as, live_server, csp_violations, kc
):
    page = login_as("admin")
    expect(page).to_have_url(re.compile(r"/realms/$"))
    table = page.get_by_test_id("realms-table")
    expect(table.locator("tr[data-realm=master]")).to_contain_text("1 min")
    expect(table.locator("tr[data-realm=mlflow]")).to_contain_text("10 h")
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("admin")
    screenshot(page, "realms")
    assert csp_violations == []


def test_signing_out_ends_the_keycloak_session(login_as, live_server, kc):
    page = login_as("viewer")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    # Keycloak's SSO session is gone too: signing in again shows its login form.
    page.get_by_role("link", name="Sign in with Keycloak").click()
    expect(page.locator("input[name=username]")).to_be_visible()


def test_an_admin_without_rights_gets_a_clear_403_page(login_as, live_server, kc):
    page = login_as("outsider")
    expect(page.get_by_test_id("forbidden")).to_contain_text("no admin role")
    screenshot(page, "forbidden")
