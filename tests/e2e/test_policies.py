"""A revocation policy in the browser: created as a dry run, its report read, switched to
enforce with the realm's name typed, then a run that revokes; axe clean, screenshots kept."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_mobile import page_width_px, widest_elements
from tests.fixtures.axe import describe, page_axe_violations
from tests.fixtures.browser import screenshot
from tests.policies.conftest import held_by_keycloak, idle_offline  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e

WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def test_an_operator_creates_a_policy_reads_its_dry_run_and_switches_it_to_enforce(
    kc,
    login_as,
    idle_offline,  # noqa: F811 (the fixture imported above)
):
    idler, idle, before, _ = idle_offline
    page = login_as("operator", "/policies/mlflow/")
    page.set_viewport_size(WIDE)
    expect(page.get_by_test_id("no-policies")).to_contain_text("No policy in mlflow yet")

    page.get_by_test_id("new-policy").click()
    page.get_by_label("Name").fill("stale offline tokens")
    page.get_by_label("Acts on the findings of kind").select_option("offline_idle")
    page.get_by_label("…and at most this share of the realm's sessions (%)").fill("100")
    page.get_by_test_id("save-policy").click()
    expect(page.get_by_test_id("mode")).to_have_text("dry run")
    expect(page.get_by_test_id("no-runs")).to_be_visible()

    page.get_by_test_id("run-now").click()
    expect(page.get_by_test_id("run-outcome")).to_have_text("Dry run: reported, nothing revoked")
    expect(page.get_by_test_id("run-targets").locator("li")).to_have_count(3)
    page.get_by_role("link", name="stale offline tokens").click()
    latest = page.get_by_test_id("latest-run")
    expect(latest).to_contain_text("It would revoke 3 sessions (3 offline) from 1 finding")
    expect(latest.get_by_test_id("run-target")).to_have_count(3)
    assert page_axe_violations(page) == [], describe(page_axe_violations(page))
    screenshot(page, "policy-dry-run")
    assert held_by_keycloak(kc, "mlflow", idler, "mlflow") == before

    page.get_by_label("Type mlflow to confirm").fill("mlflow-prod")
    page.get_by_test_id("switch-enforce").click()
    expect(page.get_by_test_id("form-errors")).to_contain_text(
        "Type the realm's name exactly to switch this policy to enforce."
    )
    assert page_axe_violations(page) == [], describe(page_axe_violations(page))
    page.get_by_label("Type mlflow to confirm").fill("mlflow")
    page.get_by_test_id("switch-enforce").click()
    expect(page.get_by_test_id("mode")).to_have_text("enforce")
    expect(page.get_by_test_id("enforcing")).to_contain_text("switched on by operator")

    page.get_by_test_id("run-now").click()
    expect(page.get_by_test_id("run-outcome")).to_have_text("Revocation job started")
    page.get_by_role("link", name="stale offline tokens").click()
    expect(page.get_by_test_id("latest-run")).to_contain_text("(finished)")
    assert page_axe_violations(page) == [], describe(page_axe_violations(page))
    screenshot(page, "policy-enforced")
    assert held_by_keycloak(kc, "mlflow", idler, "mlflow") == before - idle

    # On a phone the policy's page fits the screen (its tables scroll inside their box).
    page.set_viewport_size(PHONE)
    page.reload()
    assert page_width_px(page) <= PHONE["width"], widest_elements(page)
    assert page_axe_violations(page) == [], describe(page_axe_violations(page))
    screenshot(page, "policy-enforced-phone")
