"""Revocation in the browser, against the emulator: every action, then what Keycloak holds."""

import time

import pytest
from keycloak.exceptions import KeycloakError
from playwright.sync_api import expect

from tests.fixtures.browser import screenshot

pytestmark = pytest.mark.e2e


def look(page, name: str) -> None:
    """screenshot(), then drop the empty style="" Playwright's caret hiding leaves behind (htmx
    would copy it onto swapped elements and the CSP would refuse it)."""
    screenshot(page, name)
    page.evaluate(
        "document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))"
    )


def accept_confirms(page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def refresh_fails(kc, realm, client_id, secret, refresh_token) -> bool:
    try:
        kc.openid(realm, client_id, secret).refresh_token(refresh_token)
    except KeycloakError:
        return True
    return False


def mlflow_login(kc, offline=False):
    return kc.password_login(
        "mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret", offline=offline
    )


def online_ids(kc, realm, username):
    admin = kc.admin(realm)
    return {s["id"] for s in admin.get_sessions(admin.get_user_id(username))}


def test_an_operator_signs_out_one_session_from_the_users_page(login_as, kc, csp_violations):
    tokens = mlflow_login(kc)
    user_id = kc.admin("mlflow").get_user_id("mlflow_user")
    page = login_as("operator", f"/sessions/mlflow/users/{user_id}/")
    accept_confirms(page)
    row = page.locator(f"tr[data-session-id='{tokens['session_state']}']")
    expect(row).to_be_visible()
    look(page, "revocation-user")

    page.fill("#revocation-reason-text", "laptop stolen")
    row.get_by_test_id("revoke-session").click()

    outcome = page.get_by_test_id("revocation-outcome")
    expect(outcome).to_contain_text("Session signed out")
    expect(outcome.get_by_test_id("residual-risk")).to_contain_text(
        "Access tokens already issued to mlflow stay valid for up to 5 min."
    )
    expect(row).to_have_count(0)  # the list reloaded on sessions-changed
    look(page, "revocation-session-signed-out")
    assert tokens["session_state"] not in online_ids(kc, "mlflow", "mlflow_user")
    assert refresh_fails(kc, "mlflow", "mlflow", "mlflow-secret", tokens["refresh_token"])
    assert csp_violations == []
    page.goto(page.url.split("/sessions/")[0] + "/ledger/")
    expect(page.get_by_test_id("ledger-table")).to_contain_text("laptop stolen")


def test_offline_session_and_consent_revokes_from_the_users_page(login_as, kc):
    first = kc.password_login(
        "master",
        "api-client",
        "data_scientist",
        "data_scientist",
        secret="api-client-secret",
        offline=True,
    )
    second = kc.password_login(
        "master",
        "api-client",
        "wallaroo_user",
        "wallaroo_user",
        secret="api-client-secret",
        offline=True,
    )
    admin = kc.admin()
    scientist, wallaroo = admin.get_user_id("data_scientist"), admin.get_user_id("wallaroo_user")
    page = login_as("admin", f"/sessions/master/users/{scientist}/")
    accept_confirms(page)
    offline_row = page.get_by_test_id("user-offline-sessions").locator(
        f"tr[data-session-id='{first['session_state']}']"
    )

    offline_row.get_by_test_id("revoke-offline-session").click()

    expect(page.get_by_test_id("revocation-outcome")).to_contain_text("Offline session revoked")
    expect(offline_row).to_have_count(0)
    look(page, "revocation-offline-revoked")
    assert refresh_fails(kc, "master", "api-client", "api-client-secret", first["refresh_token"])
    # Keycloak drops the offline session's online twin with it.
    assert first["session_state"] not in online_ids(kc, "master", "data_scientist")

    page.goto(page.url.replace(scientist, wallaroo))
    page.locator("tr[data-client-id='api-client']").get_by_test_id("revoke-consent").click()

    outcome = page.get_by_test_id("revocation-outcome")
    expect(outcome).to_contain_text("Offline tokens of api-client revoked")
    expect(page.locator("tr[data-client-id='api-client']")).to_have_count(0)
    expect(outcome).to_contain_text(
        "Access tokens already issued to api-client stay valid for up to 1 h."
    )
    look(page, "revocation-consent-revoked")
    consents = admin.connection.raw_get(f"admin/realms/master/users/{wallaroo}/consents").json()
    assert all(c["clientId"] != "api-client" for c in consents)
    assert refresh_fails(kc, "master", "api-client", "api-client-secret", second["refresh_token"])


def test_signing_a_user_out_everywhere_ends_sessions_and_stales_offline_tokens(login_as, kc):
    kc.admin("mlflow").assign_realm_roles(
        kc.admin("mlflow").get_user_id("mlflow_user"),
        [kc.admin("mlflow").get_realm_role("offline_access")],
    )
    offline = mlflow_login(kc, offline=True)
    online = mlflow_login(kc)
    # Keycloak compares whole seconds: a token issued in the second of the sign-out stays
    # valid, so the tokens must be older than "now".
    kc.advance(2)
    user_id = kc.admin("mlflow").get_user_id("mlflow_user")
    page = login_as("operator", f"/sessions/mlflow/users/{user_id}/")
    accept_confirms(page)

    page.get_by_test_id("sign-out-user").click()

    expect(page.get_by_test_id("revocation-outcome")).to_contain_text(
        "mlflow_user signed out everywhere"
    )
    expect(page.get_by_test_id("no-online-sessions")).to_be_visible()
    look(page, "revocation-user-signed-out")
    assert online_ids(kc, "mlflow", "mlflow_user") == set()
    assert refresh_fails(kc, "mlflow", "mlflow", "mlflow-secret", online["refresh_token"])
    # Keycloak keeps the offline session listed, but its token is stale now.
    uuid = kc.admin("mlflow").get_client_id("mlflow")
    listed = (
        kc.admin("mlflow")
        .connection.raw_get(f"admin/realms/mlflow/users/{user_id}/offline-sessions/{uuid}")
        .json()
    )
    assert [s["id"] for s in listed] == [offline["session_state"]]
    assert refresh_fails(kc, "mlflow", "mlflow", "mlflow-secret", offline["refresh_token"])


def test_everyone_on_a_client_is_signed_out_after_a_preview_with_a_reason(login_as, kc):
    tokens = mlflow_login(kc)
    page = login_as("operator", "/revocations/mlflow/clients/mlflow/")
    page.get_by_test_id("client-sign-out").click()
    expect(page.get_by_test_id("preview-count")).to_have_text("4")
    look(page, "revocation-client-preview")

    page.get_by_test_id("bulk-start").click()
    expect(page.get_by_test_id("reason-error")).to_be_visible()
    page.fill("#id_reason", "mlflow client secret leaked")
    page.fill("#id_ticket", "SEC-42")
    page.get_by_test_id("bulk-start").click()

    expect(page.get_by_test_id("job-done")).to_contain_text("Every session is revoked")
    expect(page.get_by_test_id("job-counts")).to_contain_text("4 revoked")
    look(page, "revocation-client-job")
    assert online_ids(kc, "mlflow", "mlflow_user") == set()
    assert online_ids(kc, "mlflow", "mlflow_admin") == set()
    assert refresh_fails(kc, "mlflow", "mlflow", "mlflow-secret", tokens["refresh_token"])
    page.goto(page.url.split("/revocations/")[0] + "/ledger/")
    expect(page.get_by_test_id("ledger-table")).to_contain_text("mlflow client secret leaked")


def test_a_session_keycloak_refuses_is_listed_with_why_and_can_be_retried(login_as, kc):
    tokens = mlflow_login(kc)
    refused = kc.fault(path=f"/sessions/{tokens['session_state']}$", method="DELETE", status=403)
    page = login_as("operator", "/revocations/mlflow/bulk/?kind=client&client=mlflow")
    page.fill("#id_reason", "client leaked")
    page.get_by_test_id("bulk-start").click()

    expect(page.get_by_test_id("job-counts")).to_contain_text("3 revoked")
    expect(page.get_by_test_id("job-counts")).to_contain_text("1 failed")
    page.get_by_test_id("show-failed").click()
    expect(page.get_by_test_id("item-error")).to_contain_text("HTTP 403")
    look(page, "revocation-job-failed-item")
    assert online_ids(kc, "mlflow", "mlflow_user") == {tokens["session_state"]}
    assert refused["faults"] == 1

    kc.clear_faults()
    page.get_by_test_id("job-retry").click()

    expect(page.get_by_test_id("job-counts")).to_contain_text("4 revoked")
    expect(page.get_by_test_id("job-counts")).to_contain_text("0 failed")
    assert online_ids(kc, "mlflow", "mlflow_user") == set()


def test_all_sessions_of_a_group_are_revoked(login_as, kc):
    page = login_as("operator", "/revocations/")
    card = page.locator("[data-testid=realm-card][data-realm=mlflow]")
    card.get_by_test_id("group-name").fill("ml-engineers")
    card.get_by_test_id("group-preview").click()
    expect(page.get_by_test_id("preview-title")).to_contain_text("/ml-engineers")
    expect(page.get_by_test_id("preview-count")).to_have_text("2")

    page.fill("#id_reason", "team offboarded")
    page.get_by_test_id("bulk-start").click()

    expect(page.get_by_test_id("job-counts")).to_contain_text("2 revoked")
    assert online_ids(kc, "mlflow", "mlflow_user") == set()
    assert len(online_ids(kc, "mlflow", "mlflow_admin")) == 1  # not in the group


def test_a_realm_wide_sign_out_needs_the_realms_name_and_stales_offline_tokens(login_as, kc):
    tokens = mlflow_login(kc)
    page = login_as("operator", "/revocations/mlflow/sign-out/")
    page.fill("#id_reason", "breach")
    page.fill("#id_confirm_realm", "mlfow")
    page.get_by_test_id("realm-sign-out").click()
    expect(page.get_by_test_id("revocation-refused")).to_contain_text("Type the realm's name")
    assert len(online_ids(kc, "mlflow", "mlflow_user")) == 3

    page.fill("#id_confirm_realm", "mlflow")
    page.get_by_test_id("realm-sign-out").click()

    outcome = page.get_by_test_id("revocation-outcome")
    expect(outcome).to_contain_text("Everyone in mlflow signed out")
    expect(outcome.get_by_test_id("push-reach")).to_contain_text("No client was notified")
    look(page, "revocation-realm-signed-out")
    assert online_ids(kc, "mlflow", "mlflow_user") == set()
    assert online_ids(kc, "mlflow", "mlflow_admin") == set()
    assert refresh_fails(kc, "mlflow", "mlflow", "mlflow-secret", tokens["refresh_token"])


def test_the_admins_own_realm_is_signed_out_around_them(login_as, kc):
    wallaroo = kc.password_login(
        "master", "api-client", "wallaroo_user", "wallaroo_user", secret="api-client-secret"
    )
    page = login_as("admin", "/revocations/")
    page.locator("[data-testid=realm-card][data-realm=master]").get_by_test_id(
        "realm-sign-out-link"
    ).click()
    expect(page.get_by_test_id("preview-excluded")).to_contain_text("your own session")
    look(page, "revocation-master-preview")
    page.fill("#id_reason", "incident 7")
    page.fill("#id_confirm_realm", "master")
    page.get_by_test_id("bulk-start").click()

    expect(page.get_by_test_id("job-done")).to_be_visible()
    expect(page.get_by_test_id("job-excluded")).to_contain_text("your own session")
    look(page, "revocation-master-job")
    assert wallaroo["session_state"] not in online_ids(kc, "master", "wallaroo_user")
    page.goto(page.url.split("/revocations/")[0] + "/revocations/")
    expect(page.get_by_test_id("jobs-table")).to_be_visible()  # still signed in


def test_not_before_and_push_for_a_realm_and_a_client(login_as, kc):
    tokens = mlflow_login(kc)
    time.sleep(1.1)  # Keycloak compares whole seconds: the token must be older than "now"
    page = login_as("operator", "/revocations/")
    accept_confirms(page)
    card = page.locator("[data-testid=realm-card][data-realm=mlflow]")

    card.get_by_test_id("realm-not-before-set").click()
    expect(page.get_by_test_id("revocation-outcome")).to_contain_text("Not-before of mlflow set")
    assert kc.admin("mlflow").get_realm("mlflow")["notBefore"] > 0
    assert refresh_fails(kc, "mlflow", "mlflow", "mlflow-secret", tokens["refresh_token"])

    card.get_by_test_id("realm-push").click()
    expect(page.get_by_test_id("push-reach")).to_contain_text("No client was notified")
    look(page, "revocation-realm-push")
    page.reload()
    page.locator("[data-testid=realm-card][data-realm=mlflow]").get_by_test_id(
        "realm-not-before-clear"
    ).click()
    expect(page.get_by_test_id("revocation-outcome")).to_contain_text("cleared")
    assert kc.admin("mlflow").get_realm("mlflow")["notBefore"] == 0

    page.goto(page.url.split("/revocations/")[0] + "/revocations/mlflow/clients/mlflow/")
    page.get_by_test_id("client-not-before-set").click()
    expect(page.get_by_test_id("revocation-outcome")).to_contain_text("Not-before of mlflow set")
    client = kc.admin("mlflow").get_client(kc.admin("mlflow").get_client_id("mlflow"))
    assert client["notBefore"] > 0
    page.get_by_test_id("client-push").click()
    expect(page.get_by_test_id("push-reach")).to_be_visible()
    look(page, "revocation-client-not-before")


def test_a_viewer_is_offered_no_revoke_button(login_as, kc):
    mlflow_login(kc)
    user_id = kc.admin("mlflow").get_user_id("mlflow_user")
    page = login_as("viewer", f"/sessions/mlflow/users/{user_id}/")

    expect(page.get_by_test_id("user-online-sessions")).to_be_visible()
    expect(page.get_by_test_id("revoke-session")).to_have_count(0)
    expect(page.get_by_test_id("sign-out-user")).to_have_count(0)
    page.goto(page.url.split("/sessions/")[0] + "/revocations/")
    expect(page.get_by_test_id("realm-sign-out-link")).to_have_count(0)
    look(page, "revocation-viewer-index")


def test_a_big_job_shows_live_progress_until_done(login_as, kc, celery_worker):
    kc.seed(realm="mlflow", users=50, sessions=400, clients=["mlflow"])
    kc.fault(path=r"/admin/realms/mlflow/sessions/", method="DELETE", latency_ms=30)
    page = login_as("operator", "/revocations/mlflow/bulk/?kind=client&client=mlflow&offline=1")
    page.fill("#id_reason", "client leaked")
    page.get_by_test_id("bulk-start").click()

    progress = page.get_by_test_id("job-progress")
    expect(progress).to_have_attribute("data-state", "running", timeout=15000)
    look(page, "revocation-job-running")
    expect(page.get_by_test_id("job-done")).to_be_visible(timeout=30000)
    expect(progress).to_have_attribute("data-state", "done")
    look(page, "revocation-job-done")
    kc.clear_faults()
    uuid = kc.admin("mlflow").get_client_id("mlflow")
    count = (
        kc.admin("mlflow")
        .connection.raw_get(f"admin/realms/mlflow/clients/{uuid}/session-count")
        .json()
    )
    assert count == {"count": 0}
