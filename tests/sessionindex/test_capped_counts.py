"""A narrowed page counts its matches up to a cap (selectors_count.py): exact below it,
"more than N" above it, and paging stays right either way."""

import pytest
from django.db import connection

from tokenadmin.sessionindex import selectors_count
from tokenadmin.sessionindex.filters import SessionFilters
from tokenadmin.sessionindex.selectors import SessionCounts
from tokenadmin.sessionindex.selectors_count import search_count_capped
from tokenadmin.sessionindex.selectors_page import indexed_sessions_page_select

from .test_selectors import NOW, indexed, names


@pytest.fixture
def forty(db):
    """40 sessions idle 0..195 minutes, every 4th offline; the first 8 ended (expiry passed)."""
    for n in range(40):
        indexed(
            f"user{n:02}",
            offline=n % 4 == 0,
            idle_s=n * 300,
            expires_in_s=-60 if n < 8 else 3600 + n,
        )


def page(filters: SessionFilters, number: int = 1, per_page: int = 4):
    return indexed_sessions_page_select(
        realm="master", filters=filters, number=number, per_page=per_page, now=NOW
    )


@pytest.mark.parametrize(
    "filters",
    [
        SessionFilters(idle_over_s=600, sort="-last_access"),
        SessionFilters(idle_over_s=600, sort="user"),
        SessionFilters(client="api-client", sort="-user"),
    ],
    ids=["on-sort-column", "against-sort", "client"],
)
def test_a_count_over_the_cap_says_more_than_and_pages_on(forty, monkeypatch, filters):
    expected = names(filters)
    assert len(expected) > 20
    monkeypatch.setattr(selectors_count, "COUNT_CAP", 10)
    monkeypatch.setattr("tokenadmin.sessionindex.selectors_page.SMALL_SET", 3)
    first = page(filters)
    assert first.counts == SessionCounts(total=10, online=0, offline=0, capped=True)
    assert (first.num_pages, first.has_next) == (3, True)
    assert [r.session.username for r in first.rows] == expected[:4]
    # A page past the cap: the cap grows to cover it, the page is the plain query's.
    deep = page(filters, number=5)
    assert (deep.number, deep.capped, deep.has_next) == (5, True, True)
    assert [r.session.username for r in deep.rows] == expected[16:20]
    # Under the cap, the count is exact, by type, and the last page is known.
    monkeypatch.setattr(selectors_count, "COUNT_CAP", 1000)
    exact = page(filters, number=99)
    assert not exact.capped and exact.total == len(expected)
    assert exact.counts.online + exact.counts.offline == len(expected)
    assert exact.number == exact.num_pages and not exact.has_next


def test_a_common_search_is_counted_live_up_to_the_cap(forty, monkeypatch):
    live = names(SessionFilters(q="user"))
    assert len(live) == 32  # 40 less the 8 ended
    monkeypatch.setattr(selectors_count, "COUNT_CAP", 10)
    monkeypatch.setattr("tokenadmin.sessionindex.selectors_page.SMALL_SET", 3)
    shown = page(SessionFilters(q="USER", sort="user"), number=2)
    assert shown.capped and shown.total == 10
    assert [r.session.username for r in shown.rows] == sorted(live)[4:8]
    if connection.vendor != "sqlite":
        return  # only SQLite has the trigram table; PostgreSQL counts as for any condition
    offline = sum(1 for n in range(8, 40) if n % 4 == 0)
    for cap, expected in (
        # Read cap + 1 matches at a time, ended ones left out, until more than cap are live.
        (5, SessionCounts(total=5, online=0, offline=0, capped=True)),
        (31, SessionCounts(total=31, online=0, offline=0, capped=True)),
        (32, SessionCounts(total=32, online=32 - offline, offline=offline)),
        (1000, SessionCounts(total=32, online=32 - offline, offline=offline)),
    ):
        found = search_count_capped(realm="master", term="user", offline=None, now=NOW, cap=cap)
        assert found == expected, cap
    only = search_count_capped(realm="master", term="user", offline=True, now=NOW, cap=1000)
    assert only == SessionCounts(total=offline, online=0, offline=offline)


@pytest.mark.parametrize("sort", ["user", "-last_access", "expires", "-started"])
def test_a_search_under_the_cap_lists_its_live_matches_in_order(forty, sort):
    # The trigram table's live matches (each looked up by its row in one statement) are the
    # page's rows, sorted by id: the same as the plain query, ended ones left out.
    filters = SessionFilters(q="user", sort=sort)
    expected = names(filters)
    assert len(expected) == 32
    offline = sum(1 for n in range(8, 40) if n % 4 == 0)
    for number in (1, 3, 8):
        shown = page(filters, number=number)
        assert shown.counts == SessionCounts(total=32, online=32 - offline, offline=offline)
        assert [r.session.username for r in shown.rows] == expected[(number - 1) * 4 :][:4]
    # One type: the trigram table's range of that type.
    only = page(SessionFilters(q="user", type="offline", sort=sort), per_page=50)
    assert [r.session.username for r in only.rows] == names(
        SessionFilters(q="user", type="offline", sort=sort)
    )
