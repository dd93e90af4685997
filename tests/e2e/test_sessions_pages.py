"""The sessions pages in the browser, against the emulator seeded with both demo setups and an
index filled by the real refresh: search, filters, sort, paging, back button, saved views, CSV,
the user page with offline sessions, and the client page."""

import csv
import re

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import screenshot
from tokenadmin.sessionindex.filters import DURATION_INVALID, SessionFilters
from tokenadmin.sessionindex.refresh import realm_index_refresh
from tokenadmin.sessionindex.selectors import indexed_sessions_select

pytestmark = pytest.mark.e2e
DASH = "\N{EN DASH}"


def look(page: Page, name: str) -> None:
    """screenshot(), then drop the empty style="" Playwright's caret hiding leaves on inputs
    (htmx would copy it onto swapped-in elements and the CSP would report it)."""
    screenshot(page, name)
    page.evaluate(
        "document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))"
    )


def expected_total(realm: str, **filters) -> int:
    return indexed_sessions_select(realm=realm, filters=SessionFilters(**filters)).count()


def page_range(page: Page):
    return page.get_by_test_id("page-range")


def first_usernames(page: Page, n: int = 3) -> list[str]:
    return page.get_by_test_id("user-link").all_inner_texts()[:n]


@pytest.fixture
def mlflow_indexed(kc, transactional_db) -> str:
    """Realm mlflow with the demo seed plus 300 bulk sessions, indexed by a real refresh."""
    kc.seed(realm="mlflow", users=60, sessions=300, offline_ratio=0.3)
    realm_index_refresh(realm="mlflow")
    return "mlflow"


def test_search_filters_sort_and_paging_update_the_table_and_the_url(
    login_as, mlflow_indexed, csp_violations
):
    page = login_as("operator", "/sessions/mlflow/")
    total = expected_total("mlflow")
    expect(page_range(page)).to_contain_text(f"1{DASH}50 of {total}")
    expect(page.get_by_test_id("summary-total")).to_have_text(str(total))
    look(page, "sessions-realm")

    # Search: case-insensitive, live as the admin types, state in the URL.
    page.get_by_test_id("filter-q").fill("MLFLOW_USER")
    expect(page).to_have_url(re.compile(r"q=MLFLOW_USER"))
    expect(page_range(page)).to_contain_text(f"of {expected_total('mlflow', q='mlflow_user')} ")
    assert set(page.get_by_test_id("user-link").all_inner_texts()) == {"mlflow_user"}
    # A term most sessions hold (counted in the trigram table, the page walked in order) and
    # a two-letter one (too short for trigrams: scanned) give what the scan of the index gives.
    for term in ("user-0000", "10"):
        page.get_by_test_id("filter-q").fill(term)
        expect(page).to_have_url(re.compile(rf"q={re.escape(term)}"))
        expect(page_range(page)).to_contain_text(f"of {expected_total('mlflow', q=term)} ")
    look(page, "sessions-search")
    page.get_by_test_id("filter-q").fill("")

    # Each filter, one at a time, against what the index holds.
    page.get_by_test_id("filter-type").select_option("offline")
    expect(page).to_have_url(re.compile(r"type=offline"))
    offline = expected_total("mlflow", type="offline")
    expect(page_range(page)).to_contain_text(f"of {offline} matching")
    expect(page.locator("[data-testid=session-row] .badge.text-bg-success")).to_have_count(0)
    page.get_by_test_id("filter-type").select_option("")

    page.get_by_test_id("filter-client").select_option("mlflow")
    expect(page).to_have_url(re.compile(r"client=mlflow"))
    expect(page_range(page)).to_contain_text(f"of {expected_total('mlflow', client='mlflow')} ")
    page.get_by_test_id("filter-client").select_option("")

    for testid, typed, field, seconds in (
        ("filter-expiring", "6h", "expiring_within_s", 6 * 3600),
        ("filter-idle", "10m", "idle_over_s", 600),
        ("filter-older", "1d", "older_than_s", 86400),
    ):
        box = page.get_by_test_id(testid)
        box.fill(typed)
        # The page counts at its own moment, between these two: a session may cross the
        # filter's boundary (10 minutes idle, a day old) in the seconds a busy machine takes.
        before = expected_total("mlflow", **{field: seconds})
        box.press("Enter")
        expect(page).to_have_url(re.compile(rf"={typed}"))
        expect(page_range(page).or_(page.get_by_test_id("sessions-empty"))).to_be_visible()
        after = expected_total("mlflow", **{field: seconds})
        if max(before, after):
            expect(page_range(page)).to_contain_text("matching")
            shown = int(re.search(r"of (\d+) matching", page_range(page).inner_text())[1])
            assert min(before, after) <= shown <= max(before, after), (before, shown, after)
        else:
            expect(page.get_by_test_id("sessions-empty")).to_be_visible()
        box.fill("")
        box.press("Enter")
        expect(page).not_to_have_url(re.compile(rf"={typed}"))

    # Junk is named, the rest still shows.
    page.get_by_test_id("filter-idle").fill("soonish")
    page.get_by_test_id("filter-idle").press("Enter")
    expect(page.get_by_test_id("filter-errors")).to_contain_text(DURATION_INVALID)
    expect(page_range(page)).to_contain_text(f"of {total}")
    look(page, "sessions-junk-filter")
    page.get_by_test_id("filter-idle").fill("")
    page.get_by_test_id("filter-idle").press("Enter")
    expect(page.get_by_test_id("filter-errors")).to_have_count(0)

    # Sort by user, both ways.
    page.get_by_test_id("sort-user").click()
    expect(page).to_have_url(re.compile(r"sort=user"))
    ascending = first_usernames(page)
    assert ascending == sorted(ascending)
    page.get_by_test_id("sort-user").click()
    expect(page).to_have_url(re.compile(r"sort=-user"))
    descending = first_usernames(page)
    assert descending == sorted(descending, reverse=True)
    assert descending[0] >= ascending[-1]

    # Paging with totals, page size, and the back button.
    page.get_by_test_id("page-next").click()
    expect(page_range(page)).to_contain_text(f"51{DASH}100 of {total}")
    expect(page).to_have_url(re.compile(r"page=2"))
    page.get_by_test_id("per-page-25").click()
    expect(page_range(page)).to_contain_text(f"1{DASH}25 of {total}")
    page.go_back()
    expect(page_range(page)).to_contain_text(f"51{DASH}100 of {total}")
    page.go_back()
    expect(page_range(page)).to_contain_text(f"1{DASH}50 of {total}")
    expect(page).to_have_url(re.compile(r"sort=-user$"))
    assert csp_violations == [], csp_violations[:3]


def test_a_saved_view_is_shared_applied_and_deleted(login_as, mlflow_indexed, csp_violations):
    page = login_as("operator", "/sessions/mlflow/?type=offline&sort=started")
    expect(page.get_by_test_id("saved-views-empty")).to_be_visible()
    page.get_by_test_id("save-view-toggle").click()
    page.get_by_test_id("save-view-name").fill("Offline, oldest first")
    page.get_by_test_id("save-view-submit").click()
    view_link = page.get_by_test_id("saved-view").get_by_role("link")
    expect(view_link).to_have_text("Offline, oldest first")
    look(page, "sessions-saved-view")

    page.goto(page.url.split("?")[0])
    expect(page_range(page)).to_contain_text(f"of {expected_total('mlflow')} ")
    page.get_by_role("link", name="Offline, oldest first").click()
    expect(page).to_have_url(re.compile(r"type=offline&sort=started"))
    expect(page.get_by_test_id("filter-type")).to_have_value("offline")
    offline = expected_total("mlflow", type="offline")
    expect(page_range(page)).to_contain_text(f"of {offline} matching")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("saved-view-delete").click()
    expect(page.get_by_test_id("saved-views-empty")).to_be_visible()
    assert csp_violations == [], csp_violations[:3]


def test_csv_export_downloads_every_matching_session(login_as, mlflow_indexed, tmp_path):
    page = login_as("viewer", "/sessions/mlflow/?type=offline&per_page=25")
    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    path = tmp_path / "sessions.csv"
    download_info.value.save_as(path)
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == expected_total("mlflow", type="offline") > 25
    assert {row["type"] for row in rows} == {"offline"}


def test_the_user_page_shows_offline_sessions_and_leads_to_the_client_page(
    login_as, kc, transactional_db, csp_violations
):
    offline = kc.password_login(
        "master", "sdk-client", "data_scientist", "data_scientist", offline=True
    )
    page = login_as("admin", "/sessions/")
    realm_index_refresh(realm="master")
    page.get_by_role("link", name="master").click()
    # The admin's own login session is in master's index, marked "you".
    expect(page.get_by_test_id("you-badge")).to_be_visible()
    page.get_by_test_id("filter-q").fill("data_scientist")
    expect(page.get_by_test_id("user-link").first).to_have_text("data_scientist")
    page.get_by_test_id("user-link").first.click()

    expect(page.get_by_test_id("user-name")).to_contain_text("data_scientist")
    group = page.locator("[data-testid=offline-group][data-client-id=sdk-client]")
    expect(group.locator(f"tr[data-session-id='{offline['session_state']}']")).to_be_visible()
    expect(page.get_by_test_id("user-consents")).to_contain_text("offline token")
    look(page, "sessions-user")

    group.locator("h3").get_by_role("link", name="sdk-client").click()
    expect(page.get_by_test_id("client-name")).to_contain_text("sdk-client")
    offline_count = int(page.get_by_test_id("client-offline-count").inner_text())
    assert offline_count >= 1
    page.get_by_test_id("tab-offline").click()
    expect(page.get_by_test_id("client-sessions")).to_have_attribute("data-kind", "offline")
    expect(page.get_by_test_id("client-sessions-table").locator("tbody tr")).to_have_count(
        offline_count
    )
    expect(page).to_have_url(re.compile(r"type=offline"))
    look(page, "sessions-client")
    assert csp_violations == [], csp_violations[:3]


def test_a_realm_never_indexed_says_so(login_as, kc, transactional_db):
    page = login_as("viewer", "/sessions/mlflow/")
    expect(page.get_by_test_id("sessions-never-indexed")).to_contain_text("Refresh now")
    look(page, "sessions-never-indexed")
