"""Between two refreshes, a session whose predicted expiry has passed has ended: it is in no
list, count, card, chart, client filter, CSV, report or bulk revocation, and is counted apart
as "ended since the last refresh". Sessions with no predicted expiry stay live."""

import csv
import io
import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tests.reports.conftest import report_create
from tokenadmin.sessionindex import selectors, selectors_page
from tokenadmin.sessionindex.filters import SessionFilters
from tokenadmin.sessionindex.models import IndexedSession
from tokenadmin.sessionindex.refresh import realm_index_refresh
from tokenadmin.sessionindex.selectors import (
    SessionCounts,
    indexed_clients_select,
    indexed_realms_select,
    indexed_sessions_select,
    realm_totals_select,
    sessions_ended_select,
    sessions_summary_select,
)
from tokenadmin.sessionindex.selectors_page import indexed_sessions_page_select

NOW = timezone.now().replace(microsecond=0)


def indexed(
    username: str,
    *,
    expires_in_s: int | None,
    offline: bool = False,
    client: str = "api-client",
    realm: str = "master",
) -> IndexedSession:
    return IndexedSession.objects.create(
        realm=realm,
        session_id=f"{username}-{offline}",
        offline=offline,
        user_id=f"id-{username}",
        username=username,
        ip_address="10.0.0.1",
        started_at=NOW - timedelta(hours=2),
        last_access_at=NOW - timedelta(minutes=5),
        clients={f"uuid-{client}": client},
        client_ids_text=f" {client} ",
        expires_at=NOW + timedelta(seconds=expires_in_s) if expires_in_s is not None else None,
        seen_at=NOW - timedelta(hours=1),
    )


@pytest.fixture
def some_ended(db):
    """Live: alice (30 min left), carol (no predicted expiry), erin (offline, 3 days left).
    Ended since the refresh: bob (a minute ago), dave (offline, just now), and old-app's only
    session, frank's."""
    indexed("alice", expires_in_s=1800)
    indexed("bob", expires_in_s=-60)
    indexed("carol", expires_in_s=None)
    indexed("dave", expires_in_s=0, offline=True)
    indexed("erin", expires_in_s=3 * 86400, offline=True)
    indexed("frank", expires_in_s=-3600, client="old-app")


def page_names(**filters) -> list[str]:
    page = indexed_sessions_page_select(
        realm="master", filters=SessionFilters(**filters), number=1, per_page=50, now=NOW
    )
    return sorted(row.session.username for row in page.rows)


def page_total(**filters) -> int:
    return indexed_sessions_page_select(
        realm="master", filters=SessionFilters(**filters), number=1, per_page=50, now=NOW
    ).counts.total


@pytest.mark.parametrize("by_ids_max", [5000, 0])
def test_the_set_counts_and_pages_hold_only_live_sessions(some_ended, monkeypatch, by_ids_max):
    # 0: as when many have ended, each walked entry's expiry is read instead of the ended ids.
    monkeypatch.setattr(selectors, "LIVE_BY_IDS_MAX", by_ids_max)
    live = ["alice", "carol", "erin"]
    selected = indexed_sessions_select(realm="master", filters=SessionFilters(), now=NOW)
    assert sorted(s.username for s in selected) == live
    # Every way the page reads: plain, by type, a search, a client, a duration, each sort.
    assert page_names() == live
    assert page_total() == 3
    assert page_names(type="regular") == ["alice", "carol"]
    assert page_names(type="offline") == ["erin"]
    assert page_total(type="offline") == 1
    assert page_names(client="old-app") == []
    assert page_names(client="api-client") == live
    assert page_names(expiring_within_s=3600) == ["alice"]
    assert page_names(older_than_s=60, sort="last_access") == live
    for sort in ("expires", "-expires", "user", "started", "type"):
        assert page_names(sort=sort) == live, sort


@pytest.mark.parametrize("unknown", [False, True])
def test_pages_by_expiry_list_every_live_session_in_order_with_many_ended(db, monkeypatch, unknown):
    # Many ended: by expiry the live test is the range expires_at > now when no expiry is
    # unknown, else the OR form (an unknown expiry stays listed, where the database sorts
    # NULLs: first on SQLite, last on PostgreSQL, as the API's cursors page them).
    monkeypatch.setattr(selectors, "LIVE_BY_IDS_MAX", 0)
    indexed("alice", expires_in_s=1800)
    indexed("bob", expires_in_s=-60)
    indexed("erin", expires_in_s=3 * 86400, offline=True)
    indexed("gus", expires_in_s=-3 * 86400, offline=True)
    indexed("hal", expires_in_s=7200, offline=True)
    if unknown:
        indexed("carol", expires_in_s=None)
    unknowns = ["carol"] if unknown else []
    nulls_largest = connection.features.nulls_order_largest
    first, last = ([], unknowns) if nulls_largest else (unknowns, [])

    def listed(**filters) -> list[str]:
        page = indexed_sessions_page_select(
            realm="master", filters=SessionFilters(**filters), number=1, per_page=50, now=NOW
        )
        return [row.session.username for row in page.rows]

    assert listed(sort="expires") == [*first, "alice", "hal", "erin", *last]
    assert listed(sort="-expires") == [*last, "erin", "hal", "alice", *first]
    assert listed(type="offline", sort="expires") == ["hal", "erin"]
    assert listed(expiring_within_s=3 * 3600, sort="expires") == ["alice", "hal"]
    assert page_total(sort="expires") == 3 + len(unknowns)


def test_a_search_through_the_trigram_table_leaves_out_ended_sessions(some_ended, monkeypatch):
    # "10.0.0" matches every session's IP: few matches (a list of rows) ...
    assert page_names(q="10.0.0") == ["alice", "carol", "erin"]
    assert page_names(q="10.0.0", type="offline") == ["erin"]
    assert page_names(q="bob") == []
    # ... and many (only counts come back from the trigram table; the page walks the index).
    monkeypatch.setattr(selectors_page, "SMALL_SET", 1)
    page = indexed_sessions_page_select(
        realm="master", filters=SessionFilters(q="10.0.0"), number=1, per_page=50, now=NOW
    )
    assert page.counts == SessionCounts(total=3, online=2, offline=1)
    assert sorted(row.session.username for row in page.rows) == ["alice", "carol", "erin"]


def test_cards_chart_clients_and_realm_counts_leave_out_ended_sessions(some_ended):
    sessions = indexed_sessions_select(realm="master", filters=SessionFilters(), now=NOW)
    summary = sessions_summary_select(sessions=sessions, now=NOW)
    assert (summary.total, summary.online, summary.offline) == (3, 2, 1)
    assert summary.expiring_within_1h == 1  # alice; not bob, dave or frank
    assert summary.distinct_users == 3
    histogram = dict(summary.expiry_histogram)
    assert "expired" not in histogram
    assert sum(histogram.values()) == summary.total
    assert histogram["≤ 1 h"] == 1 and histogram["unknown"] == 1

    clients = {c.client_id: c.sessions for c in indexed_clients_select(realm="master", now=NOW)}
    assert clients == {"api-client": 3}

    assert sessions_ended_select(realm="master", now=NOW) == SessionCounts(
        total=3, online=2, offline=1
    )
    live, ended = realm_totals_select(realm="master", now=NOW)
    assert live == SessionCounts(total=3, online=2, offline=1)
    assert ended.total == 3
    [realm] = indexed_realms_select(realms=["master"], now=NOW)
    assert (realm.sessions, realm.regular, realm.offline, realm.ended) == (3, 2, 1, 3)


# --- Through the pages, with Keycloak's clock moved past expiries and no refresh -------------

ENDED_IP = "203.0.113.99"


def session_in_keycloak(kc, **body) -> str:
    return kc.create_session(realm="mlflow", client_id="mlflow", **body)["id"]


@pytest.fixture
def mlflow_after_expiries(kc, db):
    """mlflow indexed while Keycloak's clock stood 1,000 s back, then the clock back to now and
    no refresh since: one regular session (from ENDED_IP, 9.8 h old) idled out 900 s ago, one
    ends in about 12 min, one offline session has 30 days left. Also the seeded ones."""
    then = int(time.time()) - 1000
    kc.set_clock(then)
    ended = session_in_keycloak(
        kc, username="mlflow_admin", ip=ENDED_IP, start=then - 34200, last_access=then - 1700
    )
    soon = session_in_keycloak(kc, username="mlflow_user", start=then - 100, last_access=then - 100)
    offline = session_in_keycloak(
        kc, username="mlflow_user", offline=True, start=then - 10, last_access=then - 10
    )
    assert realm_index_refresh(realm="mlflow").state == "done"
    kc.set_clock(time.time())
    row = IndexedSession.objects.get(realm="mlflow", session_id=ended)
    assert row.expires_at < timezone.now()
    # Keycloak has dropped it; the index, not refreshed since, still holds it.
    admin = kc.admin("mlflow")
    assert ended not in {s["id"] for s in admin.get_sessions(admin.get_user_id("mlflow_admin"))}
    live = IndexedSession.objects.filter(realm="mlflow").count() - 1
    return {"ended": ended, "soon": soon, "offline": offline, "live": live}


def number(page: str, testid: str) -> int:
    match = re.search(rf'data-testid="{testid}"[^>]*>(?:<a [^>]*>)?([\d,]+)', page)
    assert match, testid
    return int(match.group(1).replace(",", ""))


def test_the_page_leaves_out_what_ended_and_every_total_agrees(client_as, mlflow_after_expiries):
    found = mlflow_after_expiries
    client = client_as("admin")

    page = client.get("/sessions/mlflow/").content.decode()

    assert f'data-session-id="{found["soon"]}"' in page
    assert f'data-session-id="{found["ended"]}"' not in page
    assert found["ended"] not in page and ENDED_IP not in page  # no row, no revoke control
    assert ">expired<" not in page
    live = found["live"]
    assert number(page, "freshness-live") == live
    assert number(page, "summary-total") == live
    assert f"of <strong>{live}</strong> sessions" in page
    regular = IndexedSession.objects.filter(realm="mlflow", offline=False).count() - 1
    assert number(page, "summary-online") == regular
    assert 'data-testid="ended-count"' in page and "1 ended since the last refresh" in page
    # The soon-ending one is within the hour; the ended one is not counted there.
    expiring = IndexedSession.objects.filter(
        realm="mlflow",
        expires_at__gt=timezone.now(),
        expires_at__lte=timezone.now() + timedelta(hours=1),
    ).count()
    assert number(page, "summary-expiring") == expiring
    # The client filter counts live sessions (every mlflow session holds the mlflow client).
    assert f'<option value="mlflow">mlflow ({live})</option>' in page
    # The "expiring within 1 h" link (the card's) lists exactly what the card counts.
    link = client.get("/sessions/mlflow/?expiring_within=1h&sort=expires").content.decode()
    assert f"of <strong>{expiring}</strong> matching sessions" in link
    assert found["ended"] not in link


def test_csv_report_and_bulk_preview_leave_out_what_ended(client_as, mlflow_after_expiries):
    found = mlflow_after_expiries
    client = client_as("admin")

    response = client.get("/sessions/mlflow/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == found["live"]
    assert found["ended"] not in {r["session_id"] for r in rows}
    assert found["soon"] in {r["session_id"] for r in rows}

    # The ended session started 9.8 h ago: reaching the 10 h SSO maximum, were it live.
    report = report_create(realms=["mlflow"], sso_max_within_hours=9)
    email = client.get(f"/reports/{report.pk}/preview/email.html").content.decode()
    assert "mlflow_user" in email
    assert ENDED_IP not in email and found["ended"] not in email

    preview = client.get(
        reverse("revocation:bulk-preview", args=["mlflow"]), {"kind": "filter", "type": "regular"}
    ).content.decode()
    regular = IndexedSession.objects.filter(realm="mlflow", offline=False).count() - 1
    assert number(preview, "preview-count") == regular
    assert found["ended"] not in preview


def test_the_sessions_index_counts_live_sessions_and_ended_apart(client_as, mlflow_after_expiries):
    page = client_as("admin").get("/sessions/").content.decode()
    row = page.split('data-realm="mlflow"')[1].split("</tr>")[0]
    assert number(row, "realm-sessions") == mlflow_after_expiries["live"]
    assert "1 ended since the last refresh" in row


def test_a_session_with_under_a_second_left_is_listed_with_time_left_not_as_expired(db):
    indexed("grace", expires_in_s=None)
    IndexedSession.objects.filter(username="grace").update(
        expires_at=NOW + timedelta(milliseconds=400)
    )
    page = indexed_sessions_page_select(
        realm="master", filters=SessionFilters(), number=1, per_page=50, now=NOW
    )
    [row] = page.rows
    assert (row.expires_text, row.expires_in_s) == ("1 s", 1)
