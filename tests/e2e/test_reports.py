"""An admin sets up an expiry report in the browser, previews it and sends it now."""

import gzip

from playwright.sync_api import expect

from tests.fixtures.browser import screenshot
from tests.reports.conftest import index_refresh, offline_session_aged, wait_for


def test_an_admin_creates_previews_and_sends_a_report(
    login_as, live_server, csp_violations, kc, celery_worker, demo_mailbox
):
    mail_sink = demo_mailbox
    offline_session_aged(kc, days=26)
    index_refresh()
    page = login_as("admin", next_path="/reports/")
    expect(page.get_by_test_id("reports-empty")).to_be_visible()
    screenshot(page, "reports-empty")

    page.get_by_test_id("report-new").click()
    page.get_by_label("Name").fill("Wallaroo offline tokens")
    page.get_by_label("master").check()
    page.get_by_label("Clients").fill("api-client")
    page.get_by_label("Recipients").fill("ops@example.org\nml-platform@example.org")
    page.get_by_label("Repeat at an interval").check()
    screenshot(page, "report-form")
    page.get_by_test_id("report-save").click()

    expect(page.get_by_role("heading", name="Wallaroo offline tokens")).to_be_visible()
    expect(page.get_by_test_id("report-schedule")).to_have_text("every day")
    screenshot(page, "report-detail")

    page.get_by_test_id("report-preview").click()
    expect(page.get_by_test_id("preview-counts")).to_contain_text("Offline tokens lapsing")
    frame = page.frame_locator("[data-testid=preview-frame]")
    expect(frame.get_by_text("wallaroo_user").first).to_be_visible()
    screenshot(page, "report-preview")
    assert mail_sink.received() == []

    page.get_by_role("button", name="Send now").click()
    runs = page.get_by_test_id("report-runs")
    expect(runs.get_by_test_id("run-state")).to_have_text("Sent", timeout=20000)
    expect(runs).to_contain_text("Offline lapsing: 1")
    screenshot(page, "report-sent")

    [mail] = wait_for(mail_sink.received, what="the report mail")
    assert mail.to == "ops@example.org, ml-platform@example.org"
    assert "Wallaroo offline tokens" in mail.subject
    assert "wallaroo_user (master, offline, api-client)" in mail.body("plain")
    page.get_by_role("link", name="Reports").first.click()
    expect(page.get_by_test_id("reports-table")).to_contain_text("Wallaroo offline tokens")
    screenshot(page, "reports-list")

    page.get_by_test_id("mailbox-link").click()
    page.get_by_role("link", name=mail.subject).click()
    mailbox_frame = page.frame_locator("[data-testid=mail-frame]")
    expect(mailbox_frame.get_by_text("Offline tokens lapsing (1)")).to_be_visible()
    page.set_viewport_size({"width": 1440, "height": 900})
    screenshot(page, "mailbox-mail")
    # The report's CSV attachment (gzipped: it fits under the size limit) opens from the mailbox.
    with page.expect_download() as download:
        page.get_by_test_id("mail-attachment").first.click()
    csv_text = gzip.decompress(download.value.path().read_bytes()).decode("utf-8")
    assert download.value.suggested_filename.endswith(".csv.gz")
    assert "wallaroo_user" in csv_text
    assert csp_violations == []
