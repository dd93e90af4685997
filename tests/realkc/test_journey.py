"""An admin's whole visit, in Chromium, against real Keycloak 26: sign in on Keycloak's own login
page, realms, sessions after an index refresh by the worker, revoke one session, change a
lifespan, sign out. Each step is checked in what Keycloak holds afterwards."""

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import login_through_keycloak, screenshot

from .conftest import ADMIN_PASSWORD, ADMIN_USERNAME, REALKC_TIMEOUT_S, REALM_CLIENT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(REALKC_TIMEOUT_S)]


def look(page: Page, name: str) -> None:
    """screenshot(), then drop the empty style="" Playwright's caret hiding leaves on inputs
    (htmx would copy it onto swapped-in elements and the CSP would report it)."""
    screenshot(page, f"realkc-{name}")
    page.evaluate(
        "document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))"
    )


def test_an_admin_signs_in_refreshes_revokes_edits_a_lifespan_and_signs_out(
    realkc, realkc_worker, page, live_server, csp_violations
):
    realm = realkc.realm
    username = f"journey-{uuid.uuid4().hex[:6]}"
    realkc.user_create(realm, username, "journey-password")
    made = realkc.sessions_make(realm, username, "journey-password", 3)
    (offline,) = realkc.sessions_make(realm, username, "journey-password", 1, offline=True)

    # Keycloak's own login page, then the realms page.
    login_through_keycloak(page, live_server.url, ADMIN_USERNAME, ADMIN_PASSWORD)
    expect(page).to_have_url(re.compile(r"/realms/$"))
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(ADMIN_USERNAME)
    row = page.get_by_test_id("realms-table").locator(f"tr[data-realm='{realm}']")
    expect(row).to_be_visible()
    expect(page.get_by_test_id("realms-table").locator("tr[data-realm=master]")).to_be_visible()
    look(page, "realms")

    # The sessions page: "Refresh now" has the Celery worker index the realm from Keycloak.
    page.goto(f"{live_server.url}/sessions/{realm}/?q={username}")
    page.get_by_test_id("refresh-now").click()
    expect(page.get_by_test_id("freshness")).to_have_attribute("data-state", "done", timeout=60_000)
    rows = page.get_by_test_id("session-row")
    # Keycloak 26.7 keeps only the offline session of a password grant with offline_access.
    expect(rows).to_have_count(4)
    expect(page.locator(f"tr[data-session-id='{offline}']")).to_contain_text("offline")
    for session_id in made:
        expect(page.locator(f"tr[data-session-id='{session_id}']")).to_be_visible()
    look(page, "sessions")

    # Revoke one session: gone from the table and from Keycloak, the others stay.
    page.on("dialog", lambda dialog: dialog.accept())
    target = made[0]
    page.fill("#revocation-reason-text", "laptop stolen")
    page.locator(f"tr[data-session-id='{target}']").get_by_test_id("revoke-session").click()
    expect(page.get_by_test_id("revocation-outcome")).to_contain_text("Session signed out")
    expect(page.locator(f"tr[data-session-id='{target}']")).to_have_count(0)
    look(page, "session-revoked")
    assert realkc.user_session_ids(realm, username) == set(made[1:])

    # The user page reads Keycloak live: the offline token, its consent, then the client page.
    page.get_by_test_id("user-link").first.click()
    expect(page.get_by_test_id("user-name")).to_contain_text(username)
    group = page.locator(f"[data-testid=offline-group][data-client-id={REALM_CLIENT}]")
    expect(group.locator(f"tr[data-session-id='{offline}']")).to_be_visible()
    expect(page.get_by_test_id("user-consents")).to_contain_text("offline token")
    look(page, "user")
    group.locator("h3").get_by_role("link", name=REALM_CLIENT).click()
    expect(page.get_by_test_id("client-name")).to_contain_text(REALM_CLIENT)
    expect(page.get_by_test_id("client-offline-count")).to_have_text("1")
    page.get_by_test_id("tab-offline").click()
    table = page.get_by_test_id("client-sessions-table")
    expect(table.locator(f"tbody tr[data-session-id='{offline}']")).to_be_visible()
    look(page, "client")

    # A lifespan change, reviewed then saved, lands in Keycloak's realm.
    before = realkc.realm_get(realm)["ssoSessionMaxLifespan"]
    wanted_s = 7 * 3600 if before != 7 * 3600 else 8 * 3600
    page.goto(f"{live_server.url}/lifespans/{realm}/")
    page.fill("#f-ssoSessionMaxLifespan", f"{wanted_s // 3600}h")
    page.get_by_test_id("review-button").click()
    expect(
        page.get_by_test_id("diff").locator("tr[data-field=ssoSessionMaxLifespan]")
    ).to_be_visible()
    look(page, "lifespans-review")
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("saved")).to_contain_text(f"→ {wanted_s // 3600} h")
    look(page, "lifespans-saved")
    assert realkc.realm_get(realm)["ssoSessionMaxLifespan"] == wanted_s

    # Sign out: Keycloak's end-session sends the browser back to tokenadmin, and its SSO
    # session is over (signing in again shows the login form).
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/accounts/signed-out/")
    look(page, "signed-out")
    page.get_by_role("link", name="Sign in with Keycloak").click()
    expect(page.locator("input[name=username]")).to_be_visible()
    assert csp_violations == [], csp_violations[:3]


def test_an_admin_whose_keycloak_session_ended_is_asked_to_sign_in_again(
    realkc, page, live_server, settings
):
    # Renew the admin's access token on every request instead of near its end.
    settings.KEYCLOAK_REFRESH_MARGIN_S = 24 * 3600
    admin_id = realkc.user_id("master", ADMIN_USERNAME)
    sessions_url = f"/admin/realms/master/users/{admin_id}/sessions"

    def dashboard_sessions() -> set[str]:
        sessions = realkc.keycloak.admin_api("GET", sessions_url).json()
        return {s["id"] for s in sessions if "tokenadmin" in s["clients"].values()}

    before = dashboard_sessions()  # other tests' browsers may still be signed in
    login_through_keycloak(page, live_server.url, ADMIN_USERNAME, ADMIN_PASSWORD)
    page.reload()  # a refresh with real Keycloak's refresh token keeps the admin in
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(ADMIN_USERNAME)

    # Keycloak ends this browser's SSO session (as "sign out everywhere" would).
    (ours,) = dashboard_sessions() - before
    ended = realkc.keycloak.admin_api("DELETE", f"/admin/realms/master/sessions/{ours}")
    assert ended.status_code == 204, ended.text

    # The refresh gets 400 invalid_grant: the dashboard signs the admin out and sends them to
    # Keycloak's login page, which leads back in.
    page.reload()
    expect(page.locator("input[name=username]")).to_be_visible()
    look(page, "session-ended-login")
    page.fill("input[name=username]", ADMIN_USERNAME)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("[type=submit]")
    expect(page).to_have_url(re.compile(r"/realms/$"))
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(ADMIN_USERNAME)
