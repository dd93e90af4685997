"""The index queries behind the sessions page, on rows written straight into the table."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tokenadmin.accounts.models import User
from tokenadmin.sessionindex.filters import (
    DURATION_INVALID,
    SessionFilterForm,
    SessionFilters,
    filters_from_query,
)
from tokenadmin.sessionindex.models import IndexedSession, SavedView
from tokenadmin.sessionindex.selectors import (
    SessionCounts,
    indexed_clients_select,
    indexed_sessions_select,
    saved_view_filters,
    saved_views_select,
    sessions_count_select,
    sessions_summary_select,
)
from tokenadmin.sessionindex.selectors_page import indexed_sessions_page_select

NOW = timezone.now().replace(microsecond=0)


def indexed(
    username: str,
    *,
    realm: str = "master",
    offline: bool = False,
    ip: str = "10.0.0.1",
    started_ago_s: int = 3600,
    idle_s: int = 60,
    expires_in_s: int | None = 1800,
    clients: dict[str, str] | None = None,
    remember_me: bool = False,
    sid: str | None = None,
) -> IndexedSession:
    clients = clients if clients is not None else {"uuid-api": "api-client"}
    return IndexedSession.objects.create(
        realm=realm,
        session_id=sid or f"{username}-{offline}-{IndexedSession.objects.count()}",
        offline=offline,
        user_id=f"id-{username}",
        username=username,
        ip_address=ip,
        started_at=NOW - timedelta(seconds=started_ago_s),
        last_access_at=NOW - timedelta(seconds=idle_s),
        remember_me=remember_me,
        clients=clients,
        client_ids_text=" " + " ".join(sorted(clients.values())) + " " if clients else "",
        expires_at=NOW + timedelta(seconds=expires_in_s) if expires_in_s is not None else None,
        seen_at=NOW,
    )


def names(filters: SessionFilters, realm: str = "master") -> list[str]:
    return [s.username for s in indexed_sessions_select(realm=realm, filters=filters, now=NOW)]


@pytest.fixture
def realm_rows(db):
    indexed("alice", ip="10.1.1.1", started_ago_s=600, idle_s=30, expires_in_s=600)
    indexed("bob", ip="192.168.7.7", started_ago_s=3 * 86400, idle_s=7200, expires_in_s=5 * 3600)
    indexed(
        "carol",
        offline=True,
        ip="10.9.9.9",
        started_ago_s=10 * 86400,
        idle_s=86400,
        expires_in_s=20 * 86400,
        clients={"uuid-sdk": "sdk-client"},
    )
    indexed(
        "dave",
        ip="172.16.0.4",
        clients={"uuid-api": "api-client", "uuid-ml": "mlflow"},
        remember_me=True,
        expires_in_s=None,
    )
    indexed("erin", realm="mlflow", clients={"uuid-ml": "mlflow"})


def test_duration_filters_read_the_way_admins_type_them():
    for text, seconds in [("2h", 7200), ("30m", 1800), ("7d", 7 * 86400), ("1h30m", 5400)]:
        assert SessionFilterForm({"idle_over": text}).filters().idle_over_s == seconds
    assert SessionFilterForm({"idle_over": " 2 H "}).filters().idle_over_s == 7200
    assert SessionFilterForm({"older_than": "1w"}).filters().older_than_s == 7 * 86400
    for junk in ("2", "45", "h", "2x", "-1h", "2h junk", "1.5h"):
        form = SessionFilterForm({"idle_over": junk})
        assert form.filters().idle_over_s is None
        assert form.error_texts() == [f"Idle for more than: {DURATION_INVALID}"]


def test_a_junk_query_keeps_the_valid_parts_and_names_the_rest():
    form = SessionFilterForm(
        {"q": "bob", "idle_over": "soon", "type": "nonsense", "sort": "evil", "page": "x"}
    )
    filters = form.filters()
    assert filters.q == "bob"
    assert filters.idle_over_s is None
    assert filters.type == ""
    assert filters.sort == "-last_access"
    assert form.page_number() == 1
    assert any(DURATION_INVALID in line for line in form.error_texts())
    assert any(line.startswith("Idle for more than:") for line in form.error_texts())


def test_search_matches_username_ip_or_client_whatever_the_case(realm_rows):
    assert names(SessionFilters(q="BOB", sort="user")) == ["bob"]
    assert names(SessionFilters(q="10.9.", sort="user")) == ["carol"]
    assert names(SessionFilters(q="MLFLOW", sort="user")) == ["dave"]
    assert names(SessionFilters(q="nobody")) == []


def test_the_realm_is_always_the_url_realm(realm_rows):
    assert names(SessionFilters(sort="user"), realm="mlflow") == ["erin"]


def test_type_filter_keeps_regular_or_offline_sessions(realm_rows):
    assert names(SessionFilters(type="offline")) == ["carol"]
    assert sorted(names(SessionFilters(type="regular"))) == ["alice", "bob", "dave"]


def test_client_filter_matches_whole_client_ids_only(realm_rows):
    indexed("frank", clients={"uuid-x": "api-client-2"})
    assert names(SessionFilters(client="api-client", sort="user")) == ["alice", "bob", "dave"]
    assert names(SessionFilters(client="mlflow")) == ["dave"]


@pytest.mark.parametrize("sets_max", [500, 1])
def test_the_page_filters_by_client_through_the_realm_client_sets_or_without(
    realm_rows, monkeypatch, sets_max
):
    from tokenadmin.sessionindex import selectors

    monkeypatch.setattr(selectors, "CLIENT_SETS_MAX", sets_max)  # 1: too many sets, LIKE
    indexed("frank", clients={"uuid-x": "api-client-2"})
    page = indexed_sessions_page_select(
        realm="master",
        filters=SessionFilters(client="api-client", sort="user"),
        number=1,
        per_page=50,
        now=NOW,
    )
    assert [r.session.username for r in page.rows] == ["alice", "bob", "dave"]
    assert page.total == 3


def test_duration_filters_count_from_now(realm_rows):
    assert names(SessionFilters(expiring_within_s=3600)) == ["alice"]
    assert names(SessionFilters(idle_over_s=3600, sort="user")) == ["bob", "carol"]
    assert names(SessionFilters(older_than_s=7 * 86400)) == ["carol"]


def test_every_column_sorts_both_ways_with_a_stable_tie_breaker(realm_rows):
    assert names(SessionFilters(sort="user")) == ["alice", "bob", "carol", "dave"]
    assert names(SessionFilters(sort="-started")) == ["alice", "dave", "bob", "carol"]
    assert names(SessionFilters(sort="ip")) == ["alice", "carol", "dave", "bob"]
    assert names(SessionFilters(sort="last_access"))[0] == "carol"
    assert names(SessionFilters(sort="type"))[-1] == "carol"
    assert names(SessionFilters(sort="-remember_me"))[0] == "dave"
    assert names(SessionFilters(sort="clients"))[0] == "alice"
    assert names(SessionFilters(sort="-clients"))[0] == "carol"
    # Ties keep insertion order, forwards and backwards: paging never repeats or skips a row.
    for n in range(3):
        indexed(f"same{n}", started_ago_s=99999)
    ascending = [n for n in names(SessionFilters(sort="started")) if n.startswith("same")]
    descending = [n for n in names(SessionFilters(sort="-started")) if n.startswith("same")]
    assert ascending == ["same0", "same1", "same2"]
    assert descending == ["same2", "same1", "same0"]


def test_expiry_sort_puts_the_soonest_first(realm_rows):
    known = [n for n in names(SessionFilters(sort="expires")) if n != "dave"]
    assert known == ["alice", "bob", "carol"]


def test_the_summary_counts_the_filtered_set(realm_rows):
    sessions = indexed_sessions_select(realm="master", filters=SessionFilters(), now=NOW)
    summary = sessions_summary_select(sessions=sessions, now=NOW)
    assert (summary.total, summary.online, summary.offline) == (4, 3, 1)
    assert summary.expiring_within_1h == 1
    assert summary.distinct_users == 4
    assert dict(summary.expiry_histogram) == {
        "≤ 1 h": 1,
        "1-6 h": 1,
        "6-24 h": 0,
        "1-7 d": 0,
        "7-30 d": 1,
        "> 30 d": 0,
        "unknown": 1,
    }
    offline = indexed_sessions_select(realm="master", filters=SessionFilters(type="offline"))
    assert sessions_summary_select(sessions=offline, now=NOW).total == 1
    searched = indexed_sessions_select(realm="master", filters=SessionFilters(q="10.9"))
    assert sessions_count_select(sessions=searched) == SessionCounts(total=1, online=0, offline=1)


def test_a_page_knows_its_range_and_marks_my_session(db):
    for n in range(7):
        indexed(f"user{n}", sid=f"sid{n}", offline=n == 5)
    page = indexed_sessions_page_select(
        realm="master",
        filters=SessionFilters(sort="user"),
        number=2,
        per_page=3,
        my_session_id="sid4",
        now=NOW,
    )
    assert [r.session.username for r in page.rows] == ["user3", "user4", "user5"]
    assert (page.start_index, page.end_index, page.num_pages) == (4, 6, 3)
    assert page.counts == SessionCounts(total=7, online=6, offline=1)
    assert [r.is_mine for r in page.rows] == [False, True, False]
    assert page.rows[0].expires_in_s == 1800
    # A page past the end shows the last one.
    late = indexed_sessions_page_select(
        realm="master", filters=SessionFilters(sort="user"), number=99, per_page=3, now=NOW
    )
    assert late.number == 3
    assert [r.session.username for r in late.rows] == ["user6"]


def test_a_narrow_or_a_wide_match_pages_and_counts_the_same(db, monkeypatch):
    for n in range(30):
        indexed(f"user{n:02}", offline=n % 3 == 0, ip=f"10.0.0.{n}")
    filters = SessionFilters(q="user1", sort="-user")
    narrow = indexed_sessions_page_select(realm="master", filters=filters, number=2, per_page=4)
    # The same query when the matches count as many (walked in sort order, counted in SQL).
    monkeypatch.setattr("tokenadmin.sessionindex.selectors_page.SMALL_SET", 3)
    wide = indexed_sessions_page_select(realm="master", filters=filters, number=2, per_page=4)
    for page in (narrow, wide):
        assert page.counts == SessionCounts(total=10, online=7, offline=3)
        assert [r.session.username for r in page.rows] == ["user15", "user14", "user13", "user12"]


def test_a_search_never_matches_across_two_fields(realm_rows):
    # search_text joins username, IP and clientIds; a term spanning two of them is no match.
    assert names(SessionFilters(q="bob\n192")) == []
    assert names(SessionFilters(q="bob192")) == []
    assert names(SessionFilters(q=" api-client mlflow ", sort="user")) == ["dave"]


def test_counts_by_type_with_and_without_a_condition(realm_rows):
    for filters, expected in (
        (SessionFilters(), SessionCounts(total=4, online=3, offline=1)),
        (SessionFilters(type="offline"), SessionCounts(total=1, online=0, offline=1)),
        (SessionFilters(type="regular"), SessionCounts(total=3, online=3, offline=0)),
        (SessionFilters(type="regular", q="10."), SessionCounts(total=1, online=1, offline=0)),
    ):
        page = indexed_sessions_page_select(
            realm="master", filters=filters, number=1, per_page=50, now=NOW
        )
        assert page.counts == expected, filters


@pytest.mark.parametrize("window", [1, 5, 1000], ids=["fallback", "window-short", "window"])
@pytest.mark.parametrize(
    "filters",
    [
        SessionFilters(older_than_s=4 * 3600, sort="-last_access"),
        SessionFilters(idle_over_s=3600, sort="-last_access"),
        SessionFilters(expiring_within_s=3 * 3600, type="regular", sort="user"),
    ],
    ids=["against-sort", "on-sort-column", "with-type"],
)
def test_a_duration_with_many_matches_pages_like_the_plain_query(db, monkeypatch, window, filters):
    for n in range(40):
        indexed(
            f"user{n:02}",
            offline=n % 4 == 0,
            started_ago_s=(40 - n) * 1800,
            idle_s=n * 300,
            expires_in_s=(n % 7) * 3600,
        )
    # Matches count as many, and the first walk takes `window` entries.
    monkeypatch.setattr("tokenadmin.sessionindex.selectors_page.SMALL_SET", 3)
    monkeypatch.setattr("tokenadmin.sessionindex.selectors_page.WINDOW_MIN", window)
    monkeypatch.setattr("tokenadmin.sessionindex.selectors_page.WINDOW_PER_ROW", 1)
    expected = names(filters)
    assert len(expected) > 8
    for number in (1, 2, 3):
        page = indexed_sessions_page_select(
            realm="master", filters=filters, number=number, per_page=4, now=NOW
        )
        assert page.total == len(expected)
        shown = [r.session.username for r in page.rows]
        assert shown == expected[(number - 1) * 4 : number * 4]


def test_clients_are_counted_over_the_whole_realm(realm_rows):
    counts = {
        (c.client_uuid, c.client_id): c.sessions for c in indexed_clients_select(realm="master")
    }
    assert counts == {
        ("uuid-api", "api-client"): 3,
        ("uuid-sdk", "sdk-client"): 1,
        ("uuid-ml", "mlflow"): 1,
    }


def test_a_saved_view_gives_back_the_filter_it_was_saved_with(db):
    owner = User.objects.create(username="operator")
    other = User.objects.create(username="viewer")
    query = {"q": "bob", "type": "offline", "idle_over": "2h", "sort": "-user"}
    shared = SavedView.objects.create(realm="master", name="stale", query=query, owner=owner)
    SavedView.objects.create(realm="master", name="mine", query={}, owner=owner, shared=False)
    assert saved_view_filters(shared) == SessionFilters(
        q="bob", type="offline", idle_over_s=7200, sort="-user"
    )
    assert saved_view_filters(shared) == filters_from_query(query)
    assert [v.name for v in saved_views_select(realm="master", user=other)] == ["stale"]
    assert [v.name for v in saved_views_select(realm="master", user=owner)] == ["mine", "stale"]
