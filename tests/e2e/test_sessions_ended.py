"""Issue #16, "the page must not show what has ended": between two refreshes, sessions whose
predicted expiry has passed are left out of the sessions page (rows, revoke controls, cards,
chart, client filter, CSV) and counted apart as ended since the last refresh; every total on
the page agrees. Keycloak's clock moves past their expiry; the index is not refreshed."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.fixtures.browser import ARTIFACTS, screenshot
from tokenadmin.sessionindex.filters import SessionFilters
from tokenadmin.sessionindex.models import IndexedSession
from tokenadmin.sessionindex.refresh import realm_index_refresh
from tokenadmin.sessionindex.selectors import indexed_sessions_select

pytestmark = pytest.mark.e2e
ENDED_IP = "203.0.113.99"


@pytest.fixture
def mlflow_half_an_hour_on(kc, transactional_db) -> dict:
    """mlflow seeded and indexed while Keycloak's clock stood 1,000 s back, then the clock back
    to now without a refresh: every regular session idle for more than 800 s at the refresh
    has idled out since (one of them from ENDED_IP, made so), the rest are live."""
    then = int(time.time()) - 1000
    kc.set_clock(then)
    kc.seed(realm="mlflow", users=30, sessions=120, offline_ratio=0.3)
    ended = kc.create_session(
        realm="mlflow",
        username="mlflow_admin",
        client_id="mlflow",
        ip=ENDED_IP,
        start=then - 1700,
        last_access=then - 1700,
    )["id"]
    assert realm_index_refresh(realm="mlflow").state == "done"
    kc.set_clock(time.time())
    # Seeded idle times are random: a session whose expiry falls in the next two minutes
    # would end while the test looks at the page and make the counts race. Move it clear.
    soon = timezone.now()
    IndexedSession.objects.filter(
        realm="mlflow", expires_at__range=(soon, soon + timedelta(minutes=2))
    ).update(expires_at=soon + timedelta(minutes=10))
    indexed = IndexedSession.objects.filter(realm="mlflow").count()
    live = indexed_sessions_select(realm="mlflow", filters=SessionFilters()).count()
    assert 0 < live < indexed
    return {"ended_id": ended, "live": live, "ended": indexed - live}


def test_the_sessions_page_leaves_out_sessions_that_ended_since_the_refresh(
    login_as, page: Page, mlflow_half_an_hour_on, csp_violations
):
    found = mlflow_half_an_hour_on
    live, ended = found["live"], found["ended"]
    page.set_viewport_size({"width": 1440, "height": 900})
    login_as("operator", "/sessions/mlflow/?per_page=200")

    # One total everywhere: the freshness line, the card, the table, the export button.
    expect(page.get_by_test_id("freshness-live")).to_have_text(str(live))
    expect(page.get_by_test_id("summary-total")).to_have_text(str(live))
    expect(page.get_by_test_id("page-range")).to_contain_text(f"of {live} sessions")
    expect(page.get_by_test_id("export-csv")).to_contain_text(f"({live})")
    # The ended ones apart, as a count, never as rows.
    expect(page.get_by_test_id("ended-count")).to_have_text(f"{ended} ended since the last refresh")
    rows = page.get_by_test_id("session-row")
    expect(rows).to_have_count(live)
    expect(page.locator(f'[data-session-id="{found["ended_id"]}"]')).to_have_count(0)
    expect(page.get_by_test_id("expires-in").filter(has_text="expired")).to_have_count(0)
    assert ENDED_IP not in page.content()
    # Every row shown is live and can be signed out; nothing ended has a control.
    revoke = page.locator(
        "[data-testid=revoke-session], [data-testid=revoke-offline-session]"
    ).count()
    assert page.get_by_test_id("select-session").count() == live
    assert revoke == live
    # The client filter counts what the table lists.
    option = page.get_by_test_id("filter-client").locator("option[value=mlflow]")
    expect(option).to_have_text(f"mlflow ({live})")
    # The "expiring within 1 h" card and the list its link opens agree.
    expiring = page.get_by_test_id("summary-expiring").inner_text()
    screenshot(page, "sessions-ended-apart-1440")
    # The top of the page as the admin first sees it, at full size.
    page.screenshot(
        path=str(ARTIFACTS / "sessions-ended-apart-1440-top.png"),
        clip={"x": 0, "y": 0, "width": 1440, "height": 560},
        caret="initial",
    )
    page.get_by_test_id("summary-expiring").locator("a").click()
    expect(page).to_have_url(re.compile(r"expiring_within=1h"))
    expect(page.get_by_test_id("page-range")).to_contain_text(f"of {expiring} matching")
    assert csp_violations == []
