"""axe-core finds no serious or critical violation on the main pages (issue #16)."""

import pytest
from playwright.sync_api import expect

from tests.fixtures.axe import describe, page_axe_violations
from tests.fixtures.browser import screenshot
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.e2e

WIDE = {"width": 1440, "height": 900}


def test_the_emulators_login_page_passes_axe(page, live_server):
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + "/realms/")
    page.wait_for_selector("input[name=username]")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.title()
    assert page.locator("[tabindex]:not([tabindex='0']):not([tabindex='-1'])").count() == 0
    violations = page_axe_violations(page, impacts=("moderate", "serious", "critical"))
    screenshot(page, "a11y-emulator-login")
    assert violations == [], describe(violations)
    for path in ["/accounts/signed-out/", "/accounts/login-failed/"]:
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.lang") == "en", path
        violations = page_axe_violations(page, impacts=("moderate", "serious", "critical"))
        assert violations == [], (path, describe(violations))


def test_every_main_page_passes_axe_as_admin(login_as, live_server, kc):
    for offline in (False, True):
        kc.password_login(
            "mlflow",
            "mlflow",
            "mlflow_user",
            "mlflow_user",
            secret="mlflow-secret",
            offline=offline,
        )
    realm_index_refresh(realm="mlflow")
    user_id = kc.admin("mlflow").get_user_id("mlflow_user")
    pages = [
        "/realms/",
        "/sessions/",
        "/sessions/mlflow/",
        f"/sessions/mlflow/users/{user_id}/",
        "/revocations/",
        "/revocations/mlflow/clients/mlflow/",
        "/lifespans/",
        "/lifespans/mlflow/",
        "/lifespans/mlflow/clients/",
        "/lifespans/mlflow/job-survival/",
        "/ledger/",
        "/reports/",
        "/reports/new/",
    ]
    page = login_as("admin")
    page.set_viewport_size(WIDE)
    found = {}
    for path in [*pages, "lifespans review", "job"]:
        if path == "lifespans review":  # the editor's review step, with its diff table
            page.goto(live_server.url + "/lifespans/mlflow/")
            page.fill("#f-ssoSessionMaxLifespan", "6h")
            page.get_by_test_id("review-button").click()
            page.get_by_test_id("review").wait_for()
        elif path == "job":  # a finished bulk job's page, started from the client page
            page.goto(live_server.url + "/revocations/mlflow/bulk/?kind=client&client=mlflow")
            page.fill("#id_reason", "axe check")
            page.get_by_test_id("bulk-start").click()
            page.get_by_test_id("job-done").wait_for()
        else:
            page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.lang") == "en", path
        assert page.title().endswith("· tokenadmin"), path
        violations = page_axe_violations(page, impacts=("minor", "moderate", "serious", "critical"))
        if violations:
            found[path] = describe(violations)
            screenshot(page, "a11y-" + path.strip("/").replace("/", "-").replace(" ", "-")[:40])
    assert found == {}, "\n".join(f"{p}:\n{d}" for p, d in found.items())
    # Control: the check does see a violation when a page has one.
    page.evaluate(
        "() => document.querySelector('main').insertAdjacentHTML('beforeend',"
        " '<table><tr><th></th></tr><tr><td>1</td></tr></table><img src=x.png>')"
    )
    assert {v["id"] for v in page_axe_violations(page)} >= {"image-alt"}
    assert "empty-table-header" in {v["id"] for v in page_axe_violations(page, impacts=("minor",))}


def test_the_first_tab_shows_a_skip_link_that_moves_focus_to_the_main_content(login_as):
    page = login_as("admin", "/realms/")
    page.set_viewport_size(WIDE)
    skip = page.get_by_test_id("skip-link")
    assert skip.bounding_box()["width"] <= 1  # hidden until focused
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["width"] > 50
    screenshot(page, "a11y-skip-link")
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is inside the main content, past the navbar
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_dark_mode_follows_the_systems_preference_and_passes_axe(login_as, live_server, kc):
    kc.password_login("mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret")
    realm_index_refresh(realm="mlflow")
    page = login_as("admin", "/realms/")
    page.set_viewport_size(WIDE)
    assert page.evaluate("document.documentElement.dataset.bsTheme") == "light"
    page.emulate_media(color_scheme="dark")  # the system switches while the page is open
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    found = {}
    user_id = kc.admin("mlflow").get_user_id("mlflow_user")
    pages = [
        "/realms/",
        "/sessions/mlflow/",
        f"/sessions/mlflow/users/{user_id}/",
        "/revocations/mlflow/clients/mlflow/",
        "/lifespans/mlflow/",
        "/ledger/",
        "/reports/new/",
    ]
    for path in pages:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.dataset.bsTheme") == "dark", path
        body = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert body == "rgb(33, 37, 41)", (path, body)  # Bootstrap's dark body
        # A table head is not left white on the dark page.
        heads = page.locator("thead").evaluate_all(
            "els => els.map(e => getComputedStyle(e.querySelector('th')).backgroundColor)"
        )
        assert "rgb(248, 249, 250)" not in heads, (path, heads)
        screenshot(page, "a11y-dark-" + path.replace(user_id, "user").strip("/").replace("/", "-"))
        violations = page_axe_violations(page)
        if violations:
            found[path] = describe(violations)
    assert found == {}, "\n".join(f"{p}:\n{d}" for p, d in found.items())


def test_each_chart_has_its_numbers_in_a_table_for_screen_readers(login_as, kc):
    for _ in range(2):
        kc.password_login("mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret")
    realm_index_refresh(realm="mlflow")
    page = login_as("admin", "/sessions/mlflow/")
    total = int(page.get_by_test_id("summary-total").inner_text())
    assert total >= 2
    client_rows = page.get_by_test_id("client-chart-table").get_by_role("row")
    expect(client_rows).to_have_count(2)  # the head and the one client every session uses
    assert client_rows.nth(1).inner_text().split() == ["mlflow", str(total)]
    expiry = page.get_by_test_id("expiry-chart-table")
    assert expiry.locator("tbody th").first.inner_text() == "≤ 1 h"
    counts = [int(n) for n in expiry.locator("tbody td").all_inner_texts()]
    assert sum(counts) == total
    assert counts[0] == int(page.get_by_test_id("summary-expiring").inner_text())
    # The tables are for screen readers: not drawn on the page.
    assert expiry.locator("xpath=..").bounding_box()["width"] <= 1
