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

from django.db import connection

from .models import ASCII_LOWER, SEARCH_SEPARATOR

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
    if connection.vendor != "sqlite" or len(term) < MIN_TERM_LENGTH:
        return None
    if SEARCH_SEPARATOR in term:
        return TermMatches(online=0, offline=0, rows=[])
    with connection.cursor() as cursor:
        cursor.execute("SELECT code FROM sessionindex_searchrealm WHERE realm = %s", [realm])
        found = cursor.fetchone()
        if found is None:
            return TermMatches(online=0, offline=0, rows=[])
        base = found[0] << _CODE_SHIFT
        low = base + (_OFFLINE_BIT if offline else 0)
        high = base + (_ID_MASK if offline is False else _OFFLINE_BIT + _ID_MASK)
        # One phrase: the term's trigrams in a row, i.e. the term as a substring.
        phrase = '"' + term.translate(ASCII_LOWER).replace('"', '""') + '"'
        match = (
            "SELECT {} FROM sessionindex_search "
            "WHERE sessionindex_search MATCH %s AND rowid BETWEEN %s AND %s"
        )
        cursor.execute(match.format("rowid") + " LIMIT %s", [phrase, low, high, few + 1])
        rowids = [rowid for (rowid,) in cursor.fetchall()]
        if len(rowids) <= few:
            rows = [(rowid & _ID_MASK, bool(rowid & _OFFLINE_BIT)) for rowid in rowids]
            offline_n = sum(1 for _pk, is_offline in rows if is_offline)
            return TermMatches(online=len(rows) - offline_n, offline=offline_n, rows=rows)
        counts = []
        type_ranges = ((low, min(high, base + _ID_MASK)), (max(low, base + _OFFLINE_BIT), high))
        for type_low, type_high in type_ranges:
            if type_low > type_high:
                counts.append(0)
                continue
            cursor.execute(match.format("count(*)"), [phrase, type_low, type_high])
            counts.append(cursor.fetchone()[0])
        return TermMatches(online=counts[0], offline=counts[1], rows=None)
