"""A realm's sessions matching a search term, through the trigram table (SQLite only).

Migration 0005 keeps a full-text table with the trigram tokenizer over every session's
search_text, each entry's rowid being realm code << 40 | offline << 39 | row id. A term of three
characters or more is then looked up in the trigram index within the realm's rowid range (or
one type's), instead of testing the text of each of the realm's sessions: 3-4 ms for a rare
term or a three-letter one at 100,000 sessions, where the pass over the realm takes 15-20 ms.
The table is case-sensitive over text lowered as the term is, so it matches exactly what
instr() over search_text matches (tests/sessionindex/test_search.py compares the two).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from .models import ASCII_LOWER, SEARCH_SEPARATOR, IndexedSession

_CODE_SHIFT = 40
_OFFLINE_BIT = 1 << 39
_ID_MASK = _OFFLINE_BIT - 1
# The trigram tokenizer indexes runs of three characters: a shorter term cannot be looked up.
MIN_TERM_LENGTH = 3


@dataclass(frozen=True)
class TermMatches:
    online: int
    offline: int
    # (row id, offline) of every match when there are at most `few` of them, else None.
    rows: list[tuple[int, bool]] | None


def term_matches(*, realm: str, term: str, offline: bool | None, few: int) -> TermMatches | None:
    """How many of the realm's sessions (of one type, unless `offline` is None) have `term` in
    their search text, and which when at most `few` do. None when the trigram table cannot
    answer (not SQLite, or a term too short); the caller then scans."""
    rows = term_rows(realm=realm, term=term, offline=offline, limit=few + 1)
    if rows is None:
        return None
    if len(rows) <= few:
        offline_n = sum(1 for _pk, is_offline in rows if is_offline)
        return TermMatches(online=len(rows) - offline_n, offline=offline_n, rows=rows)
    online_n = term_count(realm=realm, term=term, offline=False) if offline is not True else 0
    offline_n = term_count(realm=realm, term=term, offline=True) if offline is not False else 0
    return TermMatches(online=online_n, offline=offline_n, rows=None)


def _match(realm: str, term: str, offline: bool | None) -> tuple[str, list] | None:
    """(WHERE clause, params) of the term's matches in the realm's (or one type's) rowid range;
    None when the trigram table cannot answer."""
    if connection.vendor != "sqlite" or len(term) < MIN_TERM_LENGTH:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT code FROM sessionindex_searchrealm WHERE realm = %s", [realm])
        found = cursor.fetchone()
    if found is None or SEARCH_SEPARATOR in term:
        return "0", []
    base = found[0] << _CODE_SHIFT
    low = base + (_OFFLINE_BIT if offline else 0)
    high = base + (_ID_MASK if offline is False else _OFFLINE_BIT + _ID_MASK)
    # One phrase: the term's trigrams in a row, i.e. the term as a substring.
    phrase = '"' + term.translate(ASCII_LOWER).replace('"', '""') + '"'
    where = "sessionindex_search MATCH %s AND sessionindex_search.rowid BETWEEN %s AND %s"
    return where, [phrase, low, high]


def term_rows(
    *, realm: str, term: str, offline: bool | None, limit: int
) -> list[tuple[int, bool]] | None:
    """(row id, offline) of the first `limit` matches in rowid order (all regular ones first);
    None when the trigram table cannot answer."""
    match = _match(realm, term, offline)
    if match is None:
        return None
    where, params = match
    sql = f"SELECT rowid FROM sessionindex_search WHERE {where} ORDER BY rowid LIMIT %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        return [(rowid & _ID_MASK, bool(rowid & _OFFLINE_BIT)) for (rowid,) in cursor.fetchall()]


def term_live_rows(
    *, realm: str, term: str, offline: bool | None, now: datetime, limit: int
) -> list[tuple[int, bool]] | None:
    """(row id, offline) of the first `limit` matches whose session is live at `now` (its
    predicted end after `now`, or unknown), in rowid order; None when the trigram table cannot
    answer. One statement: each match's row looked up by its id, stopping at the limit, so a
    common term reads `limit` matches and a rare one all of its own (ended ones included)."""
    match = _match(realm, term, offline)
    if match is None:
        return None
    where, params = match
    table = connection.ops.quote_name(IndexedSession._meta.db_table)
    sql = (
        # CROSS JOIN: SQLite keeps the trigram table outside (the match drives the lookups).
        f"SELECT sessionindex_search.rowid FROM sessionindex_search CROSS JOIN {table} s "  # noqa: S608
        f"ON s.id = sessionindex_search.rowid & {_ID_MASK} WHERE {where} "
        "AND (s.expires_at > %s OR s.expires_at IS NULL) "
        "ORDER BY sessionindex_search.rowid LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, connection.ops.adapt_datetimefield_value(now), limit])
        return [(rowid & _ID_MASK, bool(rowid & _OFFLINE_BIT)) for (rowid,) in cursor.fetchall()]


def term_count(*, realm: str, term: str, offline: bool) -> int:
    """Every match of one type (counted in the trigram table)."""
    match = _match(realm, term, offline)
    assert match is not None
    where, params = match
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM sessionindex_search WHERE {where}", params)  # noqa: S608
        return cursor.fetchone()[0]
