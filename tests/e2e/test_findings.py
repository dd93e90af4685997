"""The findings page in the browser: a finding with its sessions, muting it, and the path into
the revocation preview with the reason pre-filled; axe clean, screenshots kept."""

import pytest
from playwright.sync_api import expect

from tests.fixtures.axe import describe, page_axe_violations
from tests.fixtures.browser import screenshot
from tokenadmin.findings.services import findings_run, realm_thresholds_set
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.e2e

WIDE = {"width": 1440, "height": 900}


def test_an_operator_reads_a_finding_mutes_another_and_opens_the_preview(kc, login_as):
    admin = kc.admin("mlflow")
    for name, ips in (("busy", ["10.8.0.1"] * 3), ("roamer", [f"10.7.0.{n}" for n in range(4)])):
        admin.create_user({"username": name, "enabled": True})
        for ip in ips:
            kc.create_session(realm="mlflow", username=name, client_id="mlflow", ip=ip)
    realm_thresholds_set(
        realm="mlflow", offline_idle_days=14, max_sessions_per_user=2, max_addresses_per_user=3
    )
    assert realm_index_refresh(realm="mlflow").state == "done"
    findings_run(realm="mlflow")

    page = login_as("operator", "/findings/mlflow/")
    page.set_viewport_size(WIDE)
    busy = page.locator("[data-testid=finding][data-subject=busy][data-kind=many_sessions]")
    expect(busy).to_contain_text("busy has 3 concurrent sessions (more than 2)")
    expect(busy.get_by_test_id("finding-session")).to_have_count(3)
    roamer = page.locator("[data-testid=finding][data-subject=roamer][data-kind=many_addresses]")
    expect(roamer).to_contain_text("sessions from 4 different addresses (more than 3)")
    assert page_axe_violations(page) == [], describe(page_axe_violations(page))
    screenshot(page, "findings-realm")

    roamer.get_by_label("Why mute this finding").fill("travelling consultant")
    roamer.get_by_test_id("mute").click()
    expect(page.locator("#messages")).to_contain_text("Finding muted")
    roamer = page.locator("[data-testid=finding][data-subject=roamer][data-kind=many_addresses]")
    expect(roamer.get_by_test_id("muted")).to_be_visible()
    expect(roamer).to_contain_text("Muted by operator")
    screenshot(page, "findings-muted")

    page.locator(
        "[data-testid=finding][data-subject=busy][data-kind=many_sessions]"
    ).get_by_test_id("revoke-preview").click()
    expect(page.locator("input[name=reason]")).to_have_value(
        "Finding: User with many concurrent sessions (busy)"
    )
    assert page_axe_violations(page) == [], describe(page_axe_violations(page))
    screenshot(page, "findings-revoke-preview")


def test_the_page_lists_the_new_kinds_newest_first_with_their_sessions_and_paths(kc, login_as):
    from tokenadmin.keycloak import gateway_for_worker

    admin = kc.admin("mlflow")
    admin.update_realm("mlflow", {"eventsEnabled": True, "adminEventsEnabled": True})
    now = kc.now()
    reset_id = admin.create_user({"username": "reset-me", "enabled": True})
    kc.create_session(
        realm="mlflow", username="reset-me", client_id="mlflow", offline=True, start=now - 86400
    )
    gone_id = admin.create_user({"username": "deprovisioned", "enabled": True})
    kc.create_session(realm="mlflow", username="deprovisioned", client_id="mlflow")
    admin.create_client({"clientId": "old-reports", "publicClient": False})
    admin.create_user({"username": "reporter", "enabled": True})
    kc.create_session(realm="mlflow", username="reporter", client_id="old-reports")
    assert realm_index_refresh(realm="mlflow").state == "done"

    kc.advance(60)
    admin.set_user_password(reset_id, "a-new-one", temporary=False)
    admin.delete_user(gone_id)
    admin.update_client(admin.get_client_id("old-reports"), {"enabled": False})
    findings_run(realm="mlflow", gateway=gateway_for_worker())

    page = login_as("operator", "/findings/mlflow/")
    page.set_viewport_size(WIDE)
    changed = page.locator("[data-testid=finding][data-kind=credential_changed]")
    expect(changed).to_contain_text("reset-me had their password reset by an admin on")
    expect(changed.get_by_test_id("finding-session")).to_have_count(1)
    expect(changed.get_by_test_id("finding-session")).to_contain_text("offline")
    missing = page.locator("[data-testid=finding][data-kind=missing_user]")
    expect(missing).to_contain_text("deprovisioned no longer exists in Keycloak")
    disabled = page.locator("[data-testid=finding][data-kind=client_disabled]")
    expect(disabled).to_contain_text("The client old-reports is disabled")
    expect(page.get_by_test_id("events-blind")).to_have_count(0)
    assert page_axe_violations(page) == [], describe(page_axe_violations(page))
    screenshot(page, "findings-new-kinds")

    changed.get_by_test_id("revoke-preview").click()
    expect(page.locator("input[name=reason]")).to_have_value(
        "Finding: Sessions older than the user's credential change (reset-me)"
    )
    screenshot(page, "findings-credential-preview")
