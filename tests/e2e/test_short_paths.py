"""Short paths (issue #16): from a user anywhere, one click to the one user page with its revoke
controls; one client page; the realms page's "Revoke…" goes to that realm's choices."""

import pytest
from playwright.sync_api import expect

from tests.fixtures.browser import screenshot
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.e2e

WIDE = {"width": 1440, "height": 900}


def online_ids(kc, realm: str, username: str) -> set[str]:
    admin = kc.admin(realm)
    return {s["id"] for s in admin.get_sessions(admin.get_user_id(username))}


def test_a_sessions_row_opens_the_user_page_where_each_revoke_works(login_as, kc):
    kc.admin("mlflow").assign_realm_roles(
        kc.admin("mlflow").get_user_id("mlflow_user"),
        [kc.admin("mlflow").get_realm_role("offline_access")],
    )
    online = [
        kc.password_login("mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret")
        for _ in range(2)
    ]
    offline = kc.password_login(
        "mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret", offline=True
    )
    realm_index_refresh(realm="mlflow")
    page = login_as("operator", "/sessions/mlflow/?q=mlflow_user")
    page.set_viewport_size(WIDE)
    asked: list[str] = []  # what each revoke's confirmation said; the first one is declined

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    browser_row = page.locator(f"tr[data-session-id='{online[1]['session_state']}']")
    browser_row.get_by_test_id("revoke-session").click()
    page.wait_for_timeout(200)
    assert asked[0].startswith("Sign out 1 session of mlflow_user (mlflow), started 20")
    assert online[1]["session_state"] in online_ids(kc, "mlflow", "mlflow_user")

    browser_row.get_by_test_id("user-link").click()

    expect(page.get_by_test_id("user-name")).to_have_text("mlflow_user")
    assert "/sessions/mlflow/users/" in page.url
    expect(page.get_by_test_id("sign-out-user")).to_be_visible()
    screenshot(page, "short-paths-user-page")
    # Sign out one session.
    first = page.get_by_test_id("user-online-sessions").locator(
        f"tr[data-session-id='{online[0]['session_state']}']"
    )
    first.get_by_test_id("revoke-session").click()
    expect(page.get_by_test_id("revocation-outcome")).to_contain_text("Session signed out")
    expect(first).to_have_count(0)
    assert online[0]["session_state"] not in online_ids(kc, "mlflow", "mlflow_user")
    assert asked[1].startswith("Sign out 1 session of mlflow_user (mlflow), started 20")
    # Revoke the offline token.
    offline_row = page.get_by_test_id("user-offline-sessions").locator(
        f"tr[data-session-id='{offline['session_state']}']"
    )
    offline_row.get_by_test_id("revoke-offline-session").click()
    expect(page.get_by_test_id("revocation-outcome")).to_contain_text("Offline session revoked")
    expect(offline_row).to_have_count(0)
    assert asked[2].startswith("Revoke 1 offline session of mlflow_user (mlflow), started 20")
    # Sign out everything that is left.
    left = len(online_ids(kc, "mlflow", "mlflow_user"))
    page.get_by_test_id("sign-out-user").click()
    expect(page.get_by_test_id("revocation-outcome")).to_contain_text("signed out everywhere")
    expect(page.get_by_test_id("no-online-sessions")).to_be_visible()
    assert online_ids(kc, "mlflow", "mlflow_user") == set()
    assert left > 1
    assert asked[3].startswith(f"Sign mlflow_user out of every session? {left} online sessions end")
    screenshot(page, "short-paths-user-page-after")

    # The ledger names the user and links to the same page, one click.
    page.goto(page.url.split("/sessions/")[0] + "/ledger/")
    page.get_by_test_id("ledger-user-link").first.click()
    expect(page.get_by_test_id("user-name")).to_have_text("mlflow_user")
    expect(page.get_by_test_id("sign-out-user")).to_be_visible()


def test_a_viewer_sees_the_same_user_page_without_revoke_controls(login_as, kc):
    kc.password_login("mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret")
    user_id = kc.admin("mlflow").get_user_id("mlflow_user")
    page = login_as("viewer", f"/revocations/mlflow/users/{user_id}/")  # the old URL

    expect(page.get_by_test_id("user-name")).to_have_text("mlflow_user")
    assert f"/sessions/mlflow/users/{user_id}/" in page.url
    expect(page.get_by_test_id("user-online-sessions")).to_be_visible()
    expect(page.get_by_test_id("revoke-session")).to_have_count(0)
    expect(page.get_by_test_id("sign-out-user")).to_have_count(0)
    expect(page.get_by_test_id("revocation-panel")).to_have_count(0)


def test_the_one_client_page_lists_sessions_and_offers_the_revokes(login_as, kc):
    kc.password_login("mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret")
    page = login_as("operator", "/revocations/mlflow/clients/mlflow/")  # the old URL
    page.set_viewport_size(WIDE)

    expect(page.get_by_test_id("client-name")).to_contain_text("mlflow")
    assert "/sessions/mlflow/clients/" in page.url
    expect(page.get_by_test_id("client-sessions-table")).to_contain_text("mlflow_user")
    expect(page.get_by_test_id("client-sign-out")).to_be_visible()
    expect(page.get_by_test_id("client-not-before-set")).to_be_visible()
    expect(page.get_by_test_id("revoke-session").first).to_be_visible()
    assert "{#" not in page.content()
    screenshot(page, "short-paths-client-page")
    page.on("dialog", lambda dialog: dialog.accept())
    rows = page.get_by_test_id("client-sessions-table").locator("tbody tr")
    before = rows.count()
    rows.first.get_by_test_id("revoke-session").click()
    expect(page.get_by_test_id("revocation-outcome")).to_contain_text("Session signed out")
    expect(rows).to_have_count(before - 1)  # the list reloaded on sessions-changed

    page.get_by_test_id("client-sessions-table").get_by_role(
        "link", name="mlflow_user"
    ).first.click()
    expect(page.get_by_test_id("user-name")).to_have_text("mlflow_user")
    expect(page.get_by_test_id("revoke-session").first).to_be_visible()


def test_the_realms_pages_revoke_opens_that_realms_choices(login_as):
    page = login_as("admin", "/realms/")
    page.set_viewport_size(WIDE)

    page.locator("tr[data-realm=mlflow]").get_by_test_id("realm-revoke-link").click()

    expect(page.get_by_test_id("revocation-realm")).to_have_text("mlflow")
    cards = page.get_by_test_id("realm-card")
    expect(cards).to_have_count(1)
    expect(cards).to_have_attribute("data-realm", "mlflow")
    expect(cards.get_by_test_id("realm-sign-out-link")).to_be_visible()
    screenshot(page, "short-paths-realm-revoke")
    page.get_by_test_id("all-realms-link").click()
    expect(page.get_by_test_id("realm-card")).not_to_have_count(1)


def test_edit_overrides_reloaded_is_the_whole_page_with_the_editor(login_as):
    page = login_as("admin", "/lifespans/master/clients/")
    page.set_viewport_size(WIDE)
    editor_url = page.get_by_test_id("edit-sdk-client").get_attribute("href")

    page.goto(page.url.split("/lifespans/")[0] + editor_url)  # as in a new tab

    expect(page.get_by_test_id("client-editor")).to_be_visible()
    expect(page.get_by_test_id("client-matrix")).to_be_visible()
    expect(page.get_by_role("navigation").first).to_be_visible()
    screenshot(page, "short-paths-editor-opened-directly")
    page.get_by_test_id("client-save").click()  # saving still works from here
    expect(page.get_by_test_id("client-saved")).to_be_visible()
