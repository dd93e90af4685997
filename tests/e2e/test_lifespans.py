"""Lifespans in the browser: edit with diff and impact, refuse, warn, roll back, per-client
overrides, job survival and drift, against the emulator."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from tests.fixtures.browser import screenshot
from tokenadmin.keycloak import gateway_for_worker
from tokenadmin.lifespans.drift import lifespans_drift_watch
from tokenadmin.sessionindex.models import IndexedSession, RealmIndex


def index_sessions(realm: str, *started_hours_ago: float) -> None:
    """Put sessions into tokenadmin's own session index, as a refresh would have."""
    now = timezone.now()
    for n, hours in enumerate(started_hours_ago):
        IndexedSession.objects.create(
            realm=realm,
            session_id=f"s{n}",
            user_id=f"u{n}",
            username=f"user{n}",
            started_at=now - timedelta(hours=hours),
            last_access_at=now - timedelta(minutes=1),
            clients={"c": "mlflow"},
            seen_at=now,
        )
    RealmIndex.objects.update_or_create(
        realm=realm, defaults={"state": RealmIndex.State.DONE, "refreshed_at": now}
    )


def look(page, name: str) -> None:
    """screenshot(), then drop the empty style="" Playwright's caret hiding leaves on inputs:
    htmx copies `style` onto swapped-in elements of the same id, and the CSP (rightly) refuses
    that, so a later swap would report violations the app never causes."""
    screenshot(page, name)
    page.evaluate(
        "document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))"
    )


def review(page):
    page.get_by_test_id("review-button").click()


def test_an_operator_edits_sees_diff_and_impact_then_saves(login_as, kc, csp_violations):
    index_sessions("mlflow", 7, 5.5, 1)
    page = login_as("operator", "/lifespans/mlflow/")
    expect(page.locator("#f-ssoSessionMaxLifespan")).to_have_value("10h")
    look(page, "lifespans-realm")
    page.fill("#f-ssoSessionMaxLifespan", "6h")
    review(page)
    diff = page.get_by_test_id("diff")
    expect(diff.locator("tr[data-field=ssoSessionMaxLifespan]")).to_contain_text("10 h")
    expect(diff.locator("tr[data-field=ssoSessionMaxLifespan]")).to_contain_text("6 h")
    impact = page.get_by_test_id("impact")
    expect(impact.locator("tr[data-bucket=at-once] td").nth(2)).to_have_text("1")
    expect(impact.locator("tr[data-bucket=hour] td").nth(2)).to_have_text("2")
    look(page, "lifespans-review")
    assert kc.admin().get_realm("mlflow")["ssoSessionMaxLifespan"] == 36000
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("saved")).to_contain_text("SSO Session Max: 10 h → 6 h")
    assert kc.admin().get_realm("mlflow")["ssoSessionMaxLifespan"] == 21600
    expect(page.locator("#f-ssoSessionMaxLifespan")).to_have_value("6h")
    look(page, "lifespans-saved")
    assert csp_violations == [], csp_violations[:3]


def test_an_impossible_value_is_refused_and_nothing_typed_is_lost(login_as, kc, csp_violations):
    page = login_as("operator", "/lifespans/mlflow/")
    page.fill("#f-ssoSessionMaxLifespan", "ten hours")
    page.fill("#f-accessCodeLifespanLogin", "0")
    page.fill("#f-accessTokenLifespan", "7m")
    review(page)
    errors = page.get_by_test_id("errors")
    expect(errors).to_contain_text("“ten hours” is not a duration")
    expect(errors).to_contain_text("Login timeout cannot be 0")
    expect(page.locator("#f-ssoSessionMaxLifespan")).to_have_value("ten hours")
    expect(page.locator("#f-accessTokenLifespan")).to_have_value("7m")
    expect(page.get_by_test_id("review")).to_have_count(0)
    look(page, "lifespans-invalid")
    assert kc.admin().get_realm("mlflow")["accessTokenLifespan"] == 300
    assert csp_violations == [], csp_violations[:3]


def test_a_warning_is_accepted_with_save_anyway(login_as, kc, csp_violations):
    page = login_as("operator", "/lifespans/mlflow/")
    page.fill("#f-accessTokenLifespan", "1h")
    review(page)
    expect(page.get_by_test_id("warnings")).to_contain_text(
        "Access Token Lifespan (1 h) is longer than SSO Session Idle (30 min)"
    )
    expect(page.get_by_test_id("review")).to_have_count(0)
    look(page, "lifespans-warning")
    page.get_by_label("Save anyway").check()
    review(page)
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("saved")).to_be_visible()
    assert kc.admin().get_realm("mlflow")["accessTokenLifespan"] == 3600
    assert csp_violations == [], csp_violations[:3]


def test_a_save_is_rolled_back_through_diff_and_confirm(login_as, kc, csp_violations):
    page = login_as("operator", "/lifespans/mlflow/")
    page.fill("#f-ssoSessionIdleTimeout", "15m")
    review(page)
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("saved")).to_be_visible()
    assert kc.admin().get_realm("mlflow")["ssoSessionIdleTimeout"] == 900
    page.locator("tr[data-kind=approved]").first.get_by_test_id("rollback").click()
    expect(page.get_by_test_id("rollback-note")).to_be_visible()
    expect(page.get_by_test_id("diff")).to_contain_text("15 min")
    expect(page.get_by_test_id("diff")).to_contain_text("30 min")
    look(page, "lifespans-rollback")
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("saved")).to_be_visible()
    assert kc.admin().get_realm("mlflow")["ssoSessionIdleTimeout"] == 1800
    assert csp_violations == [], csp_violations[:3]


def test_a_client_override_and_a_preset(login_as, kc, csp_violations):
    page = login_as("admin", "/lifespans/master/clients/")
    matrix = page.get_by_test_id("client-matrix")
    api = matrix.locator("tr[data-client=api-client] td[data-column=access]")
    expect(api).to_contain_text("1 h")
    expect(api).to_contain_text("overridden")
    look(page, "lifespans-clients")
    page.get_by_test_id("edit-sdk-client").click()
    page.get_by_test_id("preset-api-client").click()
    expect(page.get_by_test_id("preset-note")).to_be_visible()
    expect(page.locator("#o-access")).to_have_value("1h")
    page.fill("#o-session_max", "8h")
    look(page, "lifespans-client-editor")
    page.get_by_test_id("client-save").click()
    expect(page.get_by_test_id("client-saved")).to_be_visible()
    sdk = page.get_by_test_id("client-matrix").locator("tr[data-client=sdk-client]")
    expect(sdk.locator("td[data-column=access]")).to_contain_text("1 h")
    expect(sdk.locator("td[data-column=session_max]")).to_contain_text("8 h")
    admin = kc.admin()
    attributes = admin.get_client(admin.get_client_id("sdk-client"))["attributes"]
    assert attributes["access.token.lifespan"] == "3600"
    assert attributes["client.session.max.lifespan"] == "28800"
    # The MLflow preset puts everything back to inherit.
    page.get_by_test_id("edit-sdk-client").click()
    page.get_by_test_id("preset-mlflow").click()
    expect(page.locator("#o-access")).to_have_value("")
    page.get_by_test_id("client-save").click()
    expect(page.get_by_test_id("client-saved")).to_be_visible()
    sdk = page.get_by_test_id("client-matrix").locator("tr[data-client=sdk-client]")
    expect(sdk.locator("td[data-column=access]")).to_contain_text("inherited")
    assert csp_violations == [], csp_violations[:3]


def test_job_survival_for_both_seed_setups(login_as, kc, csp_violations):
    page = login_as("admin", "/lifespans/mlflow/job-survival/")
    page.select_option("#id_client", "mlflow")
    page.fill("#id_job", "9h")
    page.get_by_test_id("survival-check").click()
    verdict = page.get_by_test_id("survival-verdict")
    expect(verdict).to_have_attribute("data-survives", "yes")
    page.fill("#id_job", "11h")
    page.get_by_test_id("survival-check").click()
    expect(verdict).to_have_attribute("data-survives", "no")
    expect(verdict).to_contain_text("SSO Session Max (10 h) ends the session after 10 h")
    expect(page.get_by_test_id("survival-fix")).to_contain_text("offline token")
    look(page, "lifespans-survival-mlflow")

    page.goto(page.url.split("/lifespans/")[0] + "/lifespans/master/job-survival/")
    page.select_option("#id_client", "api-client")
    page.fill("#id_job", "2h")
    page.get_by_label("The job refreshes its token").uncheck()
    page.get_by_test_id("survival-check").click()
    verdict = page.get_by_test_id("survival-verdict")
    expect(verdict).to_have_attribute("data-survives", "no")
    expect(page.get_by_test_id("survival-ends-by")).to_contain_text("access.token.lifespan")
    expect(verdict).to_contain_text("does not refresh")
    look(page, "lifespans-survival-api-client")
    assert csp_violations == [], csp_violations[:3]


def test_drift_made_straight_in_keycloak_is_shown_and_reverted(login_as, kc, csp_violations):
    lifespans_drift_watch(gateway=gateway_for_worker())  # the approved baseline
    admin = kc.admin()
    admin.update_realm("mlflow", {**admin.get_realm("mlflow"), "ssoSessionMaxLifespan": 7200})
    lifespans_drift_watch(gateway=gateway_for_worker())

    page = login_as("operator", "/lifespans/mlflow/")
    banner = page.get_by_test_id("drift-banner")
    expect(banner).to_contain_text("changed outside tokenadmin")
    expect(banner).to_contain_text("SSO Session Max: 10 h → 2 h")
    expect(page.get_by_test_id("drift-who")).to_have_text("unknown (admin events are off)")
    look(page, "lifespans-drift")
    page.get_by_test_id("drift-revert").click()
    expect(page.get_by_test_id("diff")).to_contain_text("2 h")
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("saved")).to_be_visible()
    expect(page.get_by_test_id("drift-banner")).to_have_count(0)
    assert kc.admin().get_realm("mlflow")["ssoSessionMaxLifespan"] == 36000
    assert csp_violations == [], csp_violations[:3]
