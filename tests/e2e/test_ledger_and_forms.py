"""The ledger's filters, times with their zone, the report form's labels and the survival
verdict's grammar (issue #16), as an admin sees them in the browser."""

import re

from playwright.sync_api import expect

from tests.fixtures.browser import screenshot
from tokenadmin.core.templatetags.tokenadmin import with_article
from tokenadmin.ledger.services import ledger_entry_create

WIDE = {"width": 1440, "height": 900}


def test_the_ledger_filters_offer_the_admins_realms_full_outcomes_and_iso_dates(login_as):
    ledger_entry_create(actor=None, action="push_revocation", realm="mlflow", target_label="x")
    page = login_as("operator", "/ledger/")
    page.set_viewport_size(WIDE)

    realm = page.get_by_test_id("ledger-realm")
    assert realm.locator("option").all_inner_texts() == ["Any realm", "mlflow"]
    outcome = page.locator("#id_outcome")
    outcome.select_option(label="Any outcome")
    # The chosen outcome is not cut off: the select is as wide as its longest option needs.
    assert outcome.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert page.locator("#id_since").get_attribute("type") == "text"
    expect(page.get_by_label("Since (YYYY-MM-DD)")).to_have_attribute("placeholder", "2026-01-31")
    # Every time shows its zone.
    expect(page.get_by_test_id("ledger-table").locator("tbody td").first).to_contain_text(" UTC")
    screenshot(page, "ledger-filters")

    page.fill("#id_since", "2026-01-01")
    realm.select_option("mlflow")
    expect(page).to_have_url(
        re.compile(r"since=2026-01-01.*realm=mlflow|realm=mlflow.*since=2026-01-01")
    )
    expect(page.get_by_test_id("ledger-total")).to_have_text("1 entry")


def test_the_report_forms_controls_have_distinct_labels(login_as):
    page = login_as("admin", "/reports/new/")
    page.set_viewport_size(WIDE)

    labels = page.locator("form[data-testid=report-form] label").all_inner_texts()

    names = [label.strip() for label in labels if label.strip()]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    expect(page.get_by_label("Repeat at an interval")).to_be_visible()
    expect(page.get_by_label("Every (how many)")).to_be_visible()
    screenshot(page, "report-form-labels")


def test_the_survival_verdict_reads_an_11_h_job(login_as):
    page = login_as("admin", "/lifespans/mlflow/job-survival/")
    page.select_option("#id_client", "mlflow")
    page.fill("#id_job", "11h")
    page.get_by_test_id("survival-check").click()

    expect(page.get_by_test_id("survival-verdict")).to_contain_text("credentials of an 11 h job")
    assert [with_article(t) for t in ("5 h", "8 min", "18 d", "1 h", "80 min", "11000 s")] == [
        "a 5 h",
        "an 8 min",
        "an 18 d",
        "a 1 h",
        "an 80 min",
        "an 11000 s",
    ]
