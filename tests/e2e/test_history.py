"""The history page in the browser: history built by real refreshes while the emulator's clock
moves on, a sign-out and a lifespan change made through the site appear as markers, the charts
draw under the CSP, and axe finds nothing serious."""

import time
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.fixtures.axe import describe, page_axe_violations
from tests.fixtures.browser import screenshot
from tokenadmin.history.models import HistoryPoint
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.e2e


def refreshed_at_keycloak_time(kc) -> HistoryPoint:
    """A real refresh; its point is stamped with the emulator's time (Django's clock cannot be
    moved with it, and the point's numbers are the refresh's either way)."""
    realm_index_refresh(realm="mlflow")
    newest = HistoryPoint.objects.filter(realm="mlflow").latest("id")
    newest.at = datetime.fromtimestamp(kc.now(), tz=UTC)
    newest.save(update_fields=["at"])
    return newest


@pytest.fixture
def history_built(kc, transactional_db) -> list[HistoryPoint]:
    """Five refreshes over two days: sessions seeded, then some end as the clock moves."""
    real_now = time.time()
    kc.set_clock(real_now - 2 * 86400)
    points = []
    for step in range(4):
        kc.seed(realm="mlflow", users=20, sessions=40 + 30 * step, offline_ratio=0.4)
        points.append(refreshed_at_keycloak_time(kc))
        kc.advance(11 * 3600)
    kc.set_clock(real_now)  # back to now: the admin's login tokens are checked by Django's clock
    points.append(refreshed_at_keycloak_time(kc))
    return points


def test_history_charts_with_a_sign_out_and_a_lifespan_change_as_markers(
    login_as, kc, history_built, csp_violations
):
    assert len({p.online + p.offline for p in history_built}) > 1  # the numbers moved
    user_id = kc.admin("mlflow").get_user_id("mlflow_user")
    page = login_as("operator", f"/sessions/mlflow/users/{user_id}/")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("sign-out-user").click()
    expect(page.get_by_test_id("revocation-outcome")).to_contain_text("signed out everywhere")

    page.goto(page.url.split("/sessions/")[0] + "/lifespans/mlflow/")
    page.fill("#f-ssoSessionMaxLifespan", "6h")
    page.get_by_test_id("review-button").click()
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("saved")).to_contain_text("10 h → 6 h")

    page.goto(page.url.split("/lifespans/")[0] + "/sessions/mlflow/")
    page.get_by_test_id("history-link").click()
    expect(page.get_by_role("heading", name="Sessions over time in mlflow")).to_be_visible()
    charts = page.locator("canvas[data-history-chart]")
    expect(charts).to_have_count(4)
    for i in range(4):
        expect(charts.nth(i)).to_have_attribute("data-chart-drawn", "1")
    markers = page.get_by_test_id("history-markers")
    expect(markers).to_contain_text("Revocation")
    expect(markers).to_contain_text("User signed out everywhere · mlflow_user · operator")
    expect(markers).to_contain_text("Lifespan change")
    # The charts hold the markers too: Chart.js drew a dataset for each kind.
    kinds = page.evaluate(
        "() => window.Chart.getChart(document.querySelector('canvas[data-history-chart=types]'))"
        ".data.datasets.map(d => d.label)"
    )
    assert kinds == ["Regular", "Offline", "Distinct users", "Revocations", "Lifespan changes"]
    # Hover on the newest refresh point: the tooltip shows its values.
    chart = page.locator("canvas[data-history-chart=types]")
    box = chart.bounding_box()
    tooltip = page.evaluate(
        """() => {
          const canvas = document.querySelector('canvas[data-history-chart=types]');
          const c = window.Chart.getChart(canvas);
          const meta = c.getDatasetMeta(0);
          const last = meta.data[meta.data.length - 1];
          return {x: last.x, y: last.y};
        }"""
    )
    page.mouse.move(box["x"] + tooltip["x"], box["y"] + tooltip["y"])
    shown = page.evaluate(
        "() => window.Chart.getChart(document.querySelector('canvas[data-history-chart=types]'))"
        ".tooltip.body.map(b => b.lines.join(' '))"
    )
    assert any(line.startswith("Regular: ") for line in shown), shown
    page.get_by_text("The same numbers as a table").click()
    rows = page.get_by_test_id("history-table").locator("tbody tr")
    expect(rows).to_have_count(5)
    screenshot(page, "history-7d")
    violations = page_axe_violations(page)
    assert violations == [], describe(violations)

    page.get_by_role("link", name="24h").click()
    expect(page.get_by_test_id("history-table").locator("tbody tr")).to_have_count(
        sum(1 for p in history_built if time.time() - p.at.timestamp() <= 86400)
    )
    screenshot(page, "history-24h")
    assert csp_violations == [], csp_violations[:3]


def test_the_history_page_before_any_refresh(login_as, transactional_db, csp_violations):
    page = login_as("operator", "/history/mlflow/")
    expect(page.get_by_test_id("history-empty")).to_contain_text(
        "History starts with the first refresh"
    )
    screenshot(page, "history-empty")
    violations = page_axe_violations(page)
    assert violations == [], describe(violations)
    assert csp_violations == []
