"""Revoking straight from the sessions browser: one row, or a ticked selection."""

import pytest
from playwright.sync_api import expect

from tests.fixtures.browser import screenshot
from tokenadmin.sessionindex.models import IndexedSession
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.e2e


def online_ids(kc, realm: str, username: str) -> set[str]:
    admin = kc.admin(realm)
    return {s["id"] for s in admin.get_sessions(admin.get_user_id(username))}


@pytest.fixture
def mlflow_sessions(kc, transactional_db) -> list[str]:
    """Three fresh sessions of mlflow_user, indexed by a real refresh."""
    ids = [
        kc.password_login("mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret")[
            "session_state"
        ]
        for _ in range(3)
    ]
    realm_index_refresh(realm="mlflow")
    return ids


def test_an_operator_signs_out_one_row_and_it_leaves_keycloak_and_the_table(
    login_as, kc, mlflow_sessions, csp_violations
):
    page = login_as("operator", "/sessions/mlflow/?q=mlflow_user")
    page.on("dialog", lambda dialog: dialog.accept())
    target = mlflow_sessions[0]
    row = page.locator(f"tr[data-session-id='{target}']")
    page.fill("#revocation-reason-text", "laptop stolen")
    row.get_by_test_id("revoke-session").click()

    expect(page.get_by_test_id("revocation-outcome")).to_contain_text("Session signed out")
    expect(row).to_have_count(0)
    screenshot(page, "sessions-row-revoked")
    assert target not in online_ids(kc, "mlflow", "mlflow_user")
    assert not IndexedSession.objects.filter(session_id=target, offline=False).exists()
    assert csp_violations == []


def test_ticked_sessions_are_previewed_then_revoked_as_a_job(login_as, kc, mlflow_sessions):
    page = login_as("operator", "/sessions/mlflow/?q=mlflow_user")
    chosen = mlflow_sessions[:2]
    for session_id in chosen:
        page.locator(f"tr[data-session-id='{session_id}'] [data-testid=select-session]").check()
    page.get_by_test_id("revoke-selection").get_by_role("button").click()

    expect(page.get_by_test_id("preview-count")).to_have_text("2")
    page.fill("#id_reason", "shared laptop")
    page.get_by_test_id("bulk-start").click()

    expect(page.get_by_test_id("job-counts")).to_contain_text("2 revoked")
    left = online_ids(kc, "mlflow", "mlflow_user")
    assert not left & set(chosen)
    assert mlflow_sessions[2] in left


def test_a_viewer_gets_no_revoke_controls_in_the_sessions_browser(login_as, kc, mlflow_sessions):
    page = login_as("viewer", "/sessions/mlflow/")
    expect(page.get_by_test_id("session-row").first).to_be_visible()
    expect(page.get_by_test_id("revoke-session")).to_have_count(0)
    expect(page.get_by_test_id("select-session")).to_have_count(0)
