"""axe-core on the pages test_accessibility.py does not open (issue #16): a report's detail, edit
and preview pages and the demo mailbox with its mail, the 403 / 404 / 500 pages, user and client
find, the sessions user and client pages, the bulk preview and job pages, a realm sign-out, the
ledger with entries and the lifespans history. Every impact counts, minor included."""

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.axe import describe, page_axe_violations
from tests.fixtures.browser import screenshot
from tests.reports.conftest import report_create
from tokenadmin.reports.services import report_run_request, report_run_send
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.e2e

WIDE = {"width": 1440, "height": 900}
ALL_IMPACTS = ("minor", "moderate", "serious", "critical")


def page_checked(page: Page, name: str, found: dict[str, str]) -> None:
    """The page's language, title and axe's findings; a screenshot to look at."""
    page.wait_for_load_state("networkidle")
    screenshot(page, "a11y-" + name)
    problems = []
    if page.evaluate("document.documentElement.lang") != "en":
        problems.append("no lang=en")
    if not page.title().endswith("· tokenadmin"):
        problems.append(f"title {page.title()!r}")
    violations = page_axe_violations(page, impacts=ALL_IMPACTS)
    if violations:
        problems.append(describe(violations))
    if problems:
        found[name] = "\n".join(problems)


def assert_none_found(found: dict[str, str]) -> None:
    assert found == {}, "\n".join(f"{name}:\n{problems}" for name, problems in found.items())


def mlflow_sessions(kc) -> str:
    """Online and offline sessions of mlflow_user, indexed; returns the user's id."""
    for offline in (False, True):
        user = "mlflow_user"
        kc.password_login("mlflow", "mlflow", user, user, secret="mlflow-secret", offline=offline)
    assert realm_index_refresh(realm="mlflow").state == "done"
    return kc.admin("mlflow").get_user_id("mlflow_user")


def test_report_pages_and_the_demo_mailbox_pass_axe(login_as, live_server, kc, demo_mailbox):
    mlflow_sessions(kc)
    report = report_create(name="ML tokens", realms=["mlflow"])
    assert report_run_send(run_id=report_run_request(report=report, actor=None).pk) == "sent"
    page = login_as("admin", f"/reports/{report.pk}/")
    page.set_viewport_size(WIDE)
    found: dict[str, str] = {}
    expect(page.get_by_role("heading", name="ML tokens")).to_be_visible()
    page_checked(page, "report-detail", found)
    page.goto(f"{live_server.url}/reports/{report.pk}/edit/")
    page_checked(page, "report-edit", found)
    page.goto(f"{live_server.url}/reports/{report.pk}/preview/")
    expect(page.get_by_test_id("preview-counts")).to_be_visible()
    page_checked(page, "report-preview", found)
    page.goto(f"{live_server.url}/demo/mailbox/")
    page_checked(page, "demo-mailbox", found)
    page.get_by_role("link", name="ML tokens").first.click()
    expect(page.frame_locator("[data-testid=mail-frame]").locator("body")).to_be_visible()
    page_checked(page, "demo-mail", found)
    assert_none_found(found)


def test_the_not_allowed_page_passes_axe(login_as, page: Page):
    found: dict[str, str] = {}
    login_as("outsider", "/realms/")
    page.set_viewport_size(WIDE)
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    page_checked(page, "403", found)
    assert_none_found(found)


def test_not_found_keycloak_error_and_server_error_pages_pass_axe(
    login_as, live_server, kc, page: Page, monkeypatch
):
    found: dict[str, str] = {}
    login_as("admin", "/realms/")
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + "/no-such-page/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page_checked(page, "404", found)
    kc.fault(path=r"/admin/realms$", status=500)
    page.goto(live_server.url + "/realms/")
    expect(page.get_by_test_id("gateway-error")).to_be_visible()
    page_checked(page, "keycloak-error", found)
    kc.clear_faults()

    # A bug anywhere in a view: the 500 page, rendered by handler500 as in production.
    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("tokenadmin.core.views.redirect", broken)
    answer = page.goto(live_server.url + "/")
    assert answer is not None and answer.status == 500
    expect(page.get_by_role("heading", name="Something went wrong on our side")).to_be_visible()
    page_checked(page, "500", found)
    assert_none_found(found)


def test_find_user_and_client_pages_and_bulk_jobs_pass_axe(login_as, live_server, kc):
    user_id = mlflow_sessions(kc)
    client_uuid = kc.admin("mlflow").get_client_id("mlflow")
    page = login_as("admin", "/revocations/mlflow/users/?q=mlflow")
    page.set_viewport_size(WIDE)
    found: dict[str, str] = {}
    expect(page.get_by_test_id("user-matches")).to_contain_text("mlflow_user")
    page_checked(page, "user-find", found)
    page.goto(live_server.url + "/revocations/mlflow/users/?q=nobody-at-all")
    page_checked(page, "user-find-none", found)
    page.goto(live_server.url + "/revocations/mlflow/clients/?client=mlflow")
    expect(page.get_by_test_id("client-name")).to_contain_text("mlflow")
    page_checked(page, "client-find", found)
    page.goto(f"{live_server.url}/sessions/mlflow/clients/{client_uuid}/")
    page_checked(page, "sessions-client", found)
    page.goto(f"{live_server.url}/sessions/mlflow/users/{user_id}/")
    expect(page.get_by_test_id("user-name")).to_have_text("mlflow_user")
    page_checked(page, "sessions-user", found)
    page.goto(live_server.url + "/revocations/mlflow/sign-out/")
    page_checked(page, "realm-sign-out", found)
    page.goto(live_server.url + "/revocations/mlflow/bulk/?kind=client&client=mlflow&offline=1")
    page_checked(page, "bulk-preview", found)
    page.fill("#id_reason", "axe check")
    page.get_by_test_id("bulk-start").click()
    expect(page.get_by_test_id("job-done")).to_be_visible()
    page_checked(page, "job-done", found)
    page.goto(live_server.url + "/ledger/")
    expect(page.get_by_test_id("ledger-table")).to_contain_text("axe check")
    page_checked(page, "ledger-entries", found)
    assert_none_found(found)


def test_a_job_that_fails_an_item_and_the_lifespans_history_pass_axe(login_as, live_server, kc):
    mlflow_sessions(kc)
    refused = kc.fault(path=r"/admin/realms/mlflow/sessions/", method="DELETE", status=403)
    assert refused
    page = login_as("operator", "/revocations/mlflow/bulk/?kind=client&client=mlflow")
    page.set_viewport_size(WIDE)
    found: dict[str, str] = {}
    page.fill("#id_reason", "axe check")
    page.get_by_test_id("bulk-start").click()
    expect(page.get_by_test_id("job-counts")).to_contain_text("failed")
    page_checked(page, "job-failed-items", found)
    kc.clear_faults()

    page.goto(live_server.url + "/lifespans/mlflow/")
    for value in ("6h", "8h"):
        page.fill("#f-ssoSessionMaxLifespan", value)
        page.get_by_test_id("review-button").click()
        page.get_by_test_id("confirm").click()
        expect(page.get_by_test_id("saved")).to_be_visible()
    expect(page.locator("tr[data-kind=approved]")).to_have_count(2)
    page_checked(page, "lifespans-history", found)
    page.locator("tr[data-kind=approved]").first.get_by_test_id("rollback").click()
    expect(page.get_by_test_id("rollback-note")).to_be_visible()
    page_checked(page, "lifespans-rollback", found)
    assert_none_found(found)


def test_every_main_page_finds_all_its_scripts_and_styles(login_as, live_server, kc, page: Page):
    """No page asks for a file the server does not have (the sessions page once loaded a
    js/sessions.js that never existed: a 404 and a console error on every visit)."""
    user_id = mlflow_sessions(kc)
    missing: list[str] = []
    page.on(
        "response",
        lambda answer: (
            missing.append(f"{answer.status} {answer.url}")
            if answer.status >= 400 and "/static/" in answer.url
            else None
        ),
    )
    login_as("admin", "/realms/")
    for path in [
        "/sessions/",
        "/sessions/mlflow/",
        f"/sessions/mlflow/users/{user_id}/",
        "/revocations/",
        "/lifespans/mlflow/",
        "/lifespans/mlflow/clients/",
        "/ledger/",
        "/reports/",
        "/reports/new/",
    ]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
    assert missing == []
