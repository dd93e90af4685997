"""Issue #16, mobile: at 390 x 844 the sessions, realms, user, client, revocation, job and
lifespans pages fit the screen and pass axe. The sessions table keeps the user, the clients, the
expiry and the action; each row's IP, type, start and last use are a closed "Details" disclosure
under the user, opened on demand; the toolbar wraps."""

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.axe import describe, page_axe_violations
from tests.fixtures.browser import ARTIFACTS, screenshot
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
ALL_IMPACTS = ("minor", "moderate", "serious", "critical")


def page_width_px(page: Page) -> int:
    """How wide the page's content is: more than the screen means scrolling sideways."""
    return page.evaluate("document.scrollingElement.scrollWidth")


def widest_elements(page: Page) -> list[str]:
    """The innermost elements that reach past the screen's right edge, to say what to fix."""
    return page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .filter(e => ![...e.children].some(
                c => c.getBoundingClientRect().right > window.innerWidth + 0.5))
            .filter(e => !e.closest('.table-responsive'))
            .slice(0, 5)
            .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                 + ' ' + Math.round(e.getBoundingClientRect().right))"""
    )


def rows_shot(page: Page, name: str) -> None:
    """The table's head and first rows only, at the screen's scale, to look at closely."""
    box = page.get_by_test_id("sessions-table").bounding_box()
    assert box
    top = box["y"] + page.evaluate("window.scrollY")  # box: the viewport; clip: the page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(
        path=str(ARTIFACTS / f"{name}.png"),
        full_page=True,
        caret="initial",
        clip={"x": 0, "y": top, "width": page.viewport_size["width"], "height": 420},
    )


def assert_axe_clean(page: Page) -> None:
    violations = page_axe_violations(page, impacts=ALL_IMPACTS)
    assert violations == [], describe(violations)


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
    action = first_row.get_by_role("button", name="Sign out").or_(
        first_row.get_by_role("button", name="Revoke")
    )
    expect(action).to_be_visible()
    box = action.bounding_box()
    assert box and box["x"] + box["width"] <= PHONE["width"]  # no sideways scroll to reach it
    assert page_width_px(page) <= PHONE["width"]
    assert_axe_clean(page)
    screenshot(page, "mobile-390-realm-sessions")

    # On a wide screen the details stay in their own columns, not under the user.
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(first_row.get_by_test_id("session-details")).to_be_hidden()
    assert "IP" in visible_headers(page) and "Started" in visible_headers(page)
    assert csp_violations == []


def test_on_a_phone_each_rows_details_open_on_demand(
    login_as, page: Page, mlflow_indexed, csp_violations
):
    page.set_viewport_size(PHONE)
    login_as("operator", "/sessions/mlflow/?sort=started")
    first_row = page.get_by_test_id("session-row").first
    ip = first_row.locator("td.col-detail.mono").text_content()
    assert ip and ip.count(".") == 3  # the row's IP, in its (hidden) desktop column
    details = first_row.get_by_test_id("session-details")

    # Closed by default: one short "Details" line under the user, the IP not shown.
    expect(details).to_be_visible()
    assert details.evaluate("d => d.open") is False
    expect(details.get_by_text(ip)).to_be_hidden()
    assert page.get_by_test_id("session-details").evaluate_all("ds => ds.every(d => !d.open)"), (
        "every row starts closed"
    )
    screenshot(page, "mobile-390-details-closed")
    rows_shot(page, "mobile-390-details-closed-rows")

    # A tap opens it and shows the IP, type, start and last use; the other rows stay closed.
    first_row.get_by_test_id("session-details-toggle").click()
    expect(details.get_by_text(ip)).to_be_visible()
    expect(details).to_contain_text("started ")
    expect(details).to_contain_text("last used ")
    assert page.get_by_test_id("session-details").nth(1).evaluate("d => d.open") is False
    assert page_width_px(page) <= PHONE["width"]
    screenshot(page, "mobile-390-details-open")
    rows_shot(page, "mobile-390-details-open-rows")

    # The keyboard and screen readers: a focusable control that says whether it is expanded.
    summary = first_row.get_by_test_id("session-details-toggle")
    summary.focus()
    page.keyboard.press("Enter")
    assert details.evaluate("d => d.open") is False
    page.keyboard.press("Enter")
    assert details.evaluate("d => d.open") is True
    name = page.evaluate("document.activeElement.textContent")
    assert name == "Details of this session"
    assert_axe_clean(page)

    # On a desktop: the IP in its column, no disclosure.
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(details).to_be_hidden()
    expect(first_row.locator("td.col-detail.mono")).to_have_text(ip)
    expect(first_row.locator("td.col-detail.mono")).to_be_visible()
    assert "IP" in visible_headers(page) and "Last access" in visible_headers(page)
    rows_shot(page, "mobile-1440-details-columns-rows")
    assert csp_violations == []


@pytest.mark.parametrize("path", ["/realms/", "/sessions/", "/revocations/"])
def test_the_realms_sessions_index_and_revocations_pages_fit_a_phone(
    login_as, page: Page, mlflow_indexed, path
):
    page.set_viewport_size(PHONE)
    login_as("admin", path)

    expect(page.locator("main")).to_be_visible()
    assert page_width_px(page) <= PHONE["width"]
    screenshot(page, "mobile-390" + path.replace("/", "-").rstrip("-"))
    if path == "/realms/":  # each realm's links on screen, not in a sideways scroll
        links = page.locator("[data-testid=realms-table] tbody a.btn")
        assert links.count() == 6  # Sessions, Revoke… and Lifespans of master and mlflow
        for box in [links.nth(n).bounding_box() for n in range(links.count())]:
            assert box and box["x"] + box["width"] <= PHONE["width"], box
    assert_axe_clean(page)


def test_user_client_revocation_and_lifespans_pages_fit_a_phone(
    login_as, live_server, page: Page, kc, mlflow_indexed
):
    kc.password_login("mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret")
    user_id = kc.admin("mlflow").get_user_id("mlflow_user")
    client_uuid = kc.admin("mlflow").get_client_id("mlflow")
    page.set_viewport_size(PHONE)
    login_as("admin", "/realms/")
    pages = {
        "sessions-user": f"/sessions/mlflow/users/{user_id}/",
        "sessions-client": f"/sessions/mlflow/clients/{client_uuid}/",
        "revocations-mlflow": "/revocations/?realm=mlflow",
        "user-find": "/revocations/mlflow/users/?q=mlflow",
        "realm-sign-out": "/revocations/mlflow/sign-out/",
        "bulk-preview": "/revocations/mlflow/bulk/?kind=client&client=mlflow",
        "lifespans": "/lifespans/mlflow/",
        "lifespans-clients": "/lifespans/mlflow/clients/",
        "lifespans-job-survival": "/lifespans/mlflow/job-survival/",
    }
    found = {}
    for name, path in pages.items():
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        screenshot(page, "mobile-390-" + name)
        problems = []
        if (width := page_width_px(page)) > PHONE["width"]:
            problems.append(f"{width} px wide: {widest_elements(page)}")
        if name.startswith("sessions-"):  # a session's revoke button: on screen, no scrolling
            button = page.get_by_test_id("revoke-session").first
            box = button.bounding_box()
            if not box or box["x"] + box["width"] > PHONE["width"]:
                problems.append(f"the first Sign out button is off screen: {box}")
            details = page.get_by_test_id("session-details").first
            if not details.is_visible() or details.evaluate("d => d.open"):
                problems.append("no closed details disclosure on the first session")
        if violations := page_axe_violations(page, impacts=ALL_IMPACTS):
            problems.append(describe(violations))
        if problems:
            found[name] = "\n".join(problems)
    # The editor's review step, with its diff and impact tables.
    page.goto(live_server.url + "/lifespans/mlflow/")
    page.fill("#f-ssoSessionMaxLifespan", "6h")
    page.get_by_test_id("review-button").click()
    expect(page.get_by_test_id("review")).to_be_visible()
    screenshot(page, "mobile-390-lifespans-review")
    if (width := page_width_px(page)) > PHONE["width"]:
        found["lifespans-review"] = f"{width} px wide: {widest_elements(page)}"
    assert found == {}, "\n".join(f"{name}: {problem}" for name, problem in found.items())


def test_a_running_and_a_finished_bulk_job_fit_a_phone(login_as, page: Page, kc, celery_worker):
    kc.seed(realm="mlflow", users=50, sessions=400, clients=["mlflow"])
    kc.fault(path=r"/admin/realms/mlflow/sessions/", method="DELETE", latency_ms=30)
    page.set_viewport_size(PHONE)
    login_as("operator", "/revocations/mlflow/bulk/?kind=client&client=mlflow&offline=1")
    page.fill("#id_reason", "client leaked")
    page.get_by_test_id("bulk-start").click()

    progress = page.get_by_test_id("job-progress")
    expect(progress).to_have_attribute("data-state", "running", timeout=15000)
    bar = progress.locator("progress")
    expect(bar).to_be_visible()
    box = bar.bounding_box()
    assert box and box["width"] > 150 and box["x"] + box["width"] <= PHONE["width"]
    assert page_width_px(page) <= PHONE["width"]
    screenshot(page, "mobile-390-job-running")
    expect(page.get_by_test_id("job-done")).to_be_visible(timeout=60000)
    kc.clear_faults()
    page.wait_for_load_state("networkidle")
    assert page_width_px(page) <= PHONE["width"], widest_elements(page)
    assert_axe_clean(page)
    screenshot(page, "mobile-390-job-done")
