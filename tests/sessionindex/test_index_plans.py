"""With many sessions ended since the refresh, the sessions page's walks stay inside an index:
the last-access, client, user and expires indexes hold expires_at (migration 0011), so
whether an entry ended is read there, not in a table row per entry (SQLite's plans; at
1,000,000 sessions hundreds of thousands end between two refreshes)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tokenadmin.sessionindex import selectors, selectors_page
from tokenadmin.sessionindex.figures import realm_figures_ended, realm_figures_store
from tokenadmin.sessionindex.filters import SessionFilters
from tokenadmin.sessionindex.selectors_page import indexed_sessions_page_select

from .test_selectors import NOW, indexed

TABLE = "sessionindex_indexedsession"
# SQLite's plans: PostgreSQL plans by its statistics.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def half_ended(db, monkeypatch):
    for n in range(40):
        indexed(
            f"user{n:02}", offline=n % 4 == 0, idle_s=n * 60, expires_in_s=-60 if n % 2 else 600
        )
    # Many ended: the walk tests each entry's expiry (not its id against the ended ids).
    monkeypatch.setattr(selectors, "LIVE_BY_IDS_MAX", 0)


def plans(run) -> list[tuple[str, str]]:
    """(SQL, plan) of every query `run` makes on the sessions table."""
    with CaptureQueriesContext(connection) as captured:
        run()
    found = []
    with connection.cursor() as cursor:
        for item in captured.captured_queries:
            if f'FROM "{TABLE}"' not in item["sql"]:
                continue
            cursor.execute("EXPLAIN QUERY PLAN " + item["sql"])
            found.append((item["sql"], " | ".join(row[-1] for row in cursor.fetchall())))
    return found


# The default sort, the user sort (and its deep pages), clients and expiry. (The others read a
# row per walked entry: a first page reads a few dozen; their indexes stay narrow, as each
# index holding expires_at is rewritten when a refresh moves an expiry.)
COVERED_SORTS = ("last_access", "user", "clients", "expires")


@pytest.mark.parametrize("sort", [*COVERED_SORTS, *(f"-{key}" for key in COVERED_SORTS)])
@pytest.mark.parametrize("number", [1, 5])
def test_the_main_sorts_walk_inside_their_index_when_many_ended(half_ended, sort, number):
    walks = [
        (sql, plan)
        for sql, plan in plans(
            lambda: indexed_sessions_page_select(
                realm="master",
                filters=SessionFilters(sort=sort),
                number=number,
                per_page=3,
                now=NOW,
            )
        )
        if "ORDER BY" in sql
    ]
    assert walks, sort
    for _sql, plan in walks:
        assert "COVERING INDEX" in plan and "TEMP B-TREE" not in plan, (sort, plan)


def test_what_ended_since_the_refresh_is_read_from_one_bin_of_the_expires_index(half_ended):
    figures = realm_figures_store(realm="master")
    found = plans(lambda: realm_figures_ended(figures, realm="master", now=NOW))
    assert len(found) == 1
    assert "idx_sess_r_expires_cover (realm=? AND expires_at>? AND expires_at<?)" in found[0][1]


@pytest.mark.parametrize(
    "filters",
    [SessionFilters(client="api-client"), SessionFilters(idle_over_s=600)],
    ids=["client", "idle"],
)
def test_client_and_idle_counts_stay_inside_their_index_when_many_ended(
    half_ended, monkeypatch, filters
):
    monkeypatch.setattr("tokenadmin.sessionindex.selectors_page.SMALL_SET", 3)  # "many" match
    found = plans(
        lambda: indexed_sessions_page_select(
            realm="master", filters=filters, number=1, per_page=3, now=NOW
        )
    )
    counts = [plan for sql, plan in found if sql.startswith("SELECT COUNT(*)")]
    assert counts and all("COVERING INDEX" in plan for plan in counts), found


@pytest.mark.parametrize(
    "filters",
    [
        SessionFilters(sort="expires"),
        SessionFilters(type="offline", idle_over_s=60, sort="expires"),
        SessionFilters(expiring_within_s=3600),
    ],
)
def test_a_walk_by_expiry_seeks_past_the_ended_when_no_expiry_is_unknown(
    half_ended, monkeypatch, filters
):
    # The ended are the start of the expires index (300,000 entries at 1,000,000 sessions five
    # minutes after a refresh): with no unknown (NULL) expiry in the realm the live test is the
    # range expires_at > now, which the walk seeks to instead of stepping over them.
    monkeypatch.setattr(selectors_page, "SMALL_SET", 1)  # matches read by a walk, not by ids
    found = plans(
        lambda: indexed_sessions_page_select(
            realm="master", filters=filters, number=1, per_page=3, now=NOW
        )
    )
    seeks = [
        plan for _sql, plan in found if "idx_sess_r_expires_cover (realm=? AND expires_at>?" in plan
    ]
    assert seeks, found
