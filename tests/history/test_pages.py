"""The history page: empty state, charts' numbers, table, ledger markers, bad input."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tokenadmin.history.models import Grain, HistoryPoint
from tokenadmin.ledger.models import Action, LedgerEntry

pytestmark = pytest.mark.django_db


def chart_data(page: str) -> dict:
    found = re.search(r'<script id="history-data" type="application/json">(.*?)</script>', page)
    assert found, "no chart data"
    return json.loads(found.group(1))


def point(at, **numbers) -> HistoryPoint:
    defaults = {
        "online": 10,
        "offline": 4,
        "users": 7,
        "clients": {"mlflow": [10, 0], "sdk-client": [0, 4]},
        "expiring": [1, 2, 3, 4, 4],
        "offline_idle": [1, 1, 1, 1, 0],
        "refresh_s": 0.5,
    }
    return HistoryPoint.objects.create(realm="mlflow", at=at, **{**defaults, **numbers})


def test_before_any_refresh_the_page_says_history_starts_with_the_first(client_as):
    client = client_as("admin")
    page = client.get("/history/mlflow/").content.decode()
    assert 'data-testid="history-empty"' in page
    assert "History starts with the first refresh" in page
    assert "history-data" not in page
    # The sessions page links here.
    assert 'href="/history/mlflow/"' in client.get("/sessions/mlflow/").content.decode()


def test_points_and_ledger_changes_in_the_span_are_charted_and_tabled(client_as):
    now = timezone.now()
    point(now - timedelta(hours=30), online=8)
    point(now - timedelta(hours=2), online=12, offline=5)
    point(now - timedelta(days=10), grain=Grain.HOUR, online=99)  # outside 7d
    point(now - timedelta(days=60), grain=Grain.DAY, online=77)
    revoked = LedgerEntry.objects.create(
        actor_username="admin", realm="mlflow", action=Action.USER_SIGNED_OUT, target_label="bob"
    )
    LedgerEntry.objects.create(
        actor_username="admin", realm="mlflow", action=Action.LIFESPANS_UPDATED
    )
    LedgerEntry.objects.create(actor_username="admin", realm="other", action=Action.BULK_REVOCATION)
    LedgerEntry.objects.create(actor_username="admin", realm="mlflow", action=Action.REPORT_CHANGED)
    client = client_as("admin")

    page = client.get("/history/mlflow/?span=7d").content.decode()
    data = chart_data(page)
    assert data["types"]["Regular"] == [8, 12]
    assert data["types"]["Offline"] == [4, 5]
    assert list(data["clients"]) == ["mlflow", "sdk-client"]
    assert data["expiring"]["≤ 1 h"] == [1, 1]
    assert [(m["kind"], m["label"]) for m in data["markers"]] == [
        ("revocation", "User signed out everywhere · bob · admin"),
        ("lifespans", "Realm lifespans changed · admin"),
    ]
    assert data["markers"][0]["x"] == int(revoked.created_at.timestamp())
    table = page.split('data-testid="history-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 3  # the header and two points
    assert "<td>12</td><td>5</td><td>7</td>" in table
    assert 'data-testid="history-markers"' in page and "Lifespan change" in page

    longer = chart_data(client.get("/history/mlflow/?span=90d").content.decode())
    assert longer["types"]["Regular"] == [77, 99, 8, 12]
    assert len(data["x"]) == 2 and data["x"][0] < data["x"][1]


def test_a_bad_span_shows_the_default_with_a_message(client_as):
    point(timezone.now() - timedelta(hours=1))
    response = client_as("admin").get("/history/mlflow/?span=5y")
    assert response.status_code == 200
    page = response.content.decode()
    assert "That time span is not one of 24h, 7d, 90d, 2y; showing 7d." in page
    assert chart_data(page)["types"]["Regular"] == [10]


def test_an_admin_without_rights_on_the_realm_is_refused(client_as):
    assert client_as("outsider").get("/history/mlflow/").status_code == 403


def test_longer_spans_show_means_of_the_points_in_each_step(client_as):
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    point(hour + timedelta(minutes=5), online=10)
    point(hour + timedelta(minutes=35), online=20)
    client = client_as("admin")
    every = chart_data(client.get("/history/mlflow/?span=24h").content.decode())
    assert every["types"]["Regular"] == [10, 20]
    page = client.get("/history/mlflow/?span=7d").content.decode()
    assert chart_data(page)["types"]["Regular"] == [15]
    assert "(mean of 2 refreshes)" in page


def test_client_names_with_dots_and_quotes_are_charted_over_long_spans(client_as):
    odd = 'portal.v2 "beta"'
    # 01:00 and 01:30 UTC: inside one of the 90-day chart's 6-hour steps (00/06/12/18 UTC).
    at = (timezone.now() - timedelta(days=20)).replace(hour=1, minute=0, second=0, microsecond=0)
    point(at, clients={odd: [3, 1], "mlflow": [1, 0]})
    point(at + timedelta(minutes=30), clients={odd: [5, 3], "mlflow": [1, 0]})
    data = chart_data(client_as("admin").get("/history/mlflow/?span=90d").content.decode())
    assert data["clients"] == {odd: [6], "mlflow": [1]}
