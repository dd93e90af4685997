"""The trigram table answers a search exactly as scanning search_text does, through every write."""

import pytest
from django.db import connection

from tokenadmin.sessionindex.filters import SessionFilters
from tokenadmin.sessionindex.models import ASCII_LOWER, IndexedSession
from tokenadmin.sessionindex.refresh_store import _rows_upsert
from tokenadmin.sessionindex.search import term_matches
from tokenadmin.sessionindex.selectors import _search_q
from tokenadmin.sessionindex.selectors_page import indexed_sessions_page_select

from .test_selectors import NOW, indexed

pytestmark = pytest.mark.django_db

USERS = [
    "alice",
    "Alice.Smith",
    "ALINA",
    "Jörg.Müller",
    "jörg",
    'quote"d',
    "star*user",
    "col:on",
    "par(en)",
    "near NEAR and AND",
    "user-0123",
    "user-01234",
    "x",
]
TERMS = [
    "ali",
    "ALI",
    "alice",
    "smith",
    "jör",
    "JÖR",
    "müller",
    "Müller",
    'e"d',
    '"',
    "r*u",
    "*",
    "l:o",
    "(en",
    "NEAR",
    "and AND",
    "user-01",
    "user-0123",
    "10.1.",
    ".1.",
    "api",
    " api-client ",
    "sdk-client",
    "client ",
    "zzz",
    "ali\nce",
    "al",
    "",
]


def scanned(realm: str, term: str, offline: bool | None) -> set[tuple[int, bool]]:
    """The page's scan (_search_q), checked against the rule itself, in Python: the term,
    lowered as the database lowers (SQLite: ASCII letters only), inside search_text."""
    rows = IndexedSession.objects.filter(realm=realm)
    if offline is not None:
        rows = rows.filter(offline=offline)
    found = set(rows.filter(_search_q(term)).values_list("id", "offline"))
    needle = term.translate(ASCII_LOWER) if connection.vendor == "sqlite" else term.lower()
    expected = {
        (pk, is_offline)
        for pk, is_offline, text in rows.values_list("id", "offline", "search_text")
        if needle in text and "\n" not in term
    }
    assert found == expected, term
    return found


def assert_table_matches_scan(realms=("master", "mlflow")) -> None:
    for realm in realms:
        for term in TERMS:
            for offline in (None, True, False):
                expected = scanned(realm, term, offline)
                found = term_matches(realm=realm, term=term, offline=offline, few=1000)
                if found is None:  # the page scans instead
                    # Too short for trigrams, or no trigram table (only SQLite has one).
                    assert len(term) < 3 or connection.vendor != "sqlite", term
                    continue
                assert set(found.rows) == expected, (realm, term, offline)
                assert found.online == sum(1 for _pk, o in expected if not o)
                assert found.offline == sum(1 for _pk, o in expected if o)
                few = term_matches(realm=realm, term=term, offline=offline, few=0)
                assert (few.online, few.offline) == (found.online, found.offline)


@pytest.fixture
def rows(db):
    for number, username in enumerate(USERS):
        for realm in ("master", "mlflow"):
            indexed(
                username,
                realm=realm,
                offline=number % 3 == 0,
                ip=f"10.{number}.1.{number}",
                clients={"u1": "api-client", "u2": "sdk-client"}
                if number % 2
                else {"u1": "api-client"},
            )
    return IndexedSession.objects.all()


def test_the_trigram_table_finds_what_a_scan_of_search_text_finds(rows):
    assert_table_matches_scan()


def test_it_stays_in_step_when_rows_change_go_and_are_upserted(rows):
    IndexedSession.objects.filter(username__in=["alice", "jörg"], realm="master").delete()
    moved = IndexedSession.objects.get(username="ALINA", realm="mlflow")
    moved.username = "renamed"
    moved.save()  # recomputes search_text
    row = IndexedSession.objects.get(username="Alice.Smith", realm="mlflow")
    # The refresh's upsert with new clients (values as the database stores them): search_text
    # is rewritten in SQL.
    stored = connection.ops.adapt_datetimefield_value
    _rows_upsert(
        [
            (
                row.realm,
                row.session_id,
                row.offline,
                row.user_id,
                row.username,
                row.ip_address,
                stored(row.started_at),
                stored(row.last_access_at),
                row.remember_me,
                '{"u3": "near-client"}',
                " near-client ",
                stored(row.expires_at),
                stored(NOW),
                "",
            )
        ]
    )
    assert IndexedSession.objects.get(pk=row.pk).search_text.endswith(" near-client ")

    assert_table_matches_scan()
    assert scanned("mlflow", "near-cl", None) == {(row.pk, row.offline)}


def test_a_realm_without_sessions_matches_nothing(rows):
    found = term_matches(realm="elsewhere", term="alice", offline=None, few=10)
    if connection.vendor == "sqlite":
        assert (found.online, found.offline, found.rows) == (0, 0, [])
    else:
        assert found is None


def test_the_sessions_page_searches_through_the_table_rare_and_common_terms(rows):
    many = [indexed(f"bulk-{n:04d}", ip="10.200.0.1") for n in range(30)]
    rare = indexed_sessions_page_select(
        realm="master", filters=SessionFilters(q="SMITH"), number=1, per_page=50, now=NOW
    )
    assert [r.session.username for r in rare.rows] == ["Alice.Smith"]

    from tokenadmin.sessionindex import selectors_page as selectors

    common_before = selectors.SMALL_SET
    selectors.SMALL_SET = 10  # 30 matches: counted in the table, the page walked in order
    try:
        common = indexed_sessions_page_select(
            realm="master",
            filters=SessionFilters(q="bulk-", sort="user"),
            number=2,
            per_page=20,
            now=NOW,
        )
    finally:
        selectors.SMALL_SET = common_before
    assert common.total == 30
    assert [r.session.username for r in common.rows] == [s.username for s in many[20:]]
