"""The lifespans editor's short paths (issue #16): the review result comes into view with focus,
the history shows each snapshot's values and what a roll back sets, paged; a viewer's page
looks read-only."""

from playwright.sync_api import expect

from tests.fixtures.browser import screenshot
from tokenadmin.lifespans.models import LifespanSnapshot
from tokenadmin.lifespans.selectors import HISTORY_PAGE_SIZE

WIDE = {"width": 1440, "height": 900}


def test_review_changes_scrolls_the_result_into_view_and_focuses_it(login_as, csp_violations):
    page = login_as("operator", "/lifespans/mlflow/")
    page.set_viewport_size(WIDE)
    page.fill("#f-ssoSessionMaxLifespan", "6h")
    page.get_by_test_id("review-button").scroll_into_view_if_needed()

    page.get_by_test_id("review-button").click()

    review = page.get_by_test_id("review")
    expect(review).to_be_focused()
    expect(review).to_be_in_viewport()
    expect(page.get_by_test_id("confirm")).to_be_in_viewport()
    screenshot(page, "lifespans-paths-review-in-view")
    # A warning comes first, in view and focused too.
    page.fill("#f-accessTokenLifespan", "1h")
    page.get_by_test_id("review-button").scroll_into_view_if_needed()
    page.get_by_test_id("review-button").click()
    expect(page.get_by_test_id("warnings")).to_be_focused()
    expect(page.get_by_test_id("warnings")).to_be_in_viewport()
    assert csp_violations == [], csp_violations[:3]


def test_the_history_shows_values_and_what_a_roll_back_sets_paged(login_as, kc):
    page = login_as("operator", "/lifespans/mlflow/")
    page.set_viewport_size(WIDE)
    page.fill("#f-ssoSessionIdleTimeout", "15m")
    page.get_by_test_id("review-button").click()
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("saved")).to_be_visible()

    expect(page.locator("tr[data-kind=before_save]")).to_have_count(0)  # one row per change
    row = page.locator("tr[data-kind=approved]").first
    expect(row.get_by_test_id("history-changes")).to_contain_text(
        "SSO Session Idle: 30 min → 15 min"
    )
    expect(row.get_by_test_id("rollback-to")).to_contain_text("SSO Session Idle: 15 min → 30 min")
    row.get_by_test_id("history-values").locator("summary").click()
    expect(row.get_by_test_id("history-values")).to_contain_text("15 min")
    screenshot(page, "lifespans-paths-history")

    # Paged: more snapshots than a page holds.
    snapshot = LifespanSnapshot.objects.filter(realm="mlflow", kind="approved").first()
    for _ in range(HISTORY_PAGE_SIZE):
        snapshot.pk = None
        snapshot.save()
    page.reload()
    history = page.get_by_test_id("history")
    expect(history.locator("tbody tr")).to_have_count(HISTORY_PAGE_SIZE)
    page.get_by_test_id("history-older").click()
    expect(page.get_by_test_id("history-pages")).to_contain_text("Page 2 of 2")
    expect(page.get_by_test_id("history").locator("tbody tr")).not_to_have_count(HISTORY_PAGE_SIZE)


def test_a_viewers_lifespans_look_read_only(login_as):
    page = login_as("realmviewer", "/lifespans/mlflow/")
    page.set_viewport_size(WIDE)

    note = page.get_by_test_id("read-only")
    expect(note).to_be_in_viewport()
    expect(page.locator("#f-ssoSessionMaxLifespan")).to_be_disabled()
    expect(page.get_by_test_id("review-button")).to_have_count(0)
    box = note.bounding_box()
    assert box is not None
    assert box["y"] < page.locator("#lifespans-form").bounding_box()["y"]  # the note on top
    screenshot(page, "lifespans-paths-read-only")
