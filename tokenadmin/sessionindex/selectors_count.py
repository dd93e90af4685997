"""Counting a narrowed sessions page's matches up to a cap.

A search, client or duration condition may match most of a million sessions; counting them
all reads every matching index entry (0.5-1.5 s at 1,000,000). The page only needs to know
whether there are more than it can show: counting stops after `cap` + 1 matches and the page
says "more than {cap}" (SessionCounts.capped), with no last page. The cap covers at least
the page asked for, so "Next" is always right.
"""

import json
from datetime import datetime

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from .models import IndexedSession
from .search import term_live_rows
from .selectors import SessionCounts

# Exact counts up to this many matches; beyond it, "more than 5,000". What a capped count
# costs grows with this, not with the realm (~15 ms for 5,000 live checks at 1,000,000).
COUNT_CAP = 5000


def count_cap_for(*, number: int, per_page: int) -> int:
    """The cap for page `number`: COUNT_CAP, or more for a deep page (its rows and one past)."""
    return max(COUNT_CAP, number * per_page)


def sessions_count_capped(*, sessions: QuerySet[IndexedSession], cap: int) -> SessionCounts:
    """How many sessions match, regular and offline, reading at most `cap` + 1 matches.

    One query: the matches' types, LIMIT cap + 1, counted around. Without a sort the planner
    reads them from the condition's own covering index and stops at the limit."""
    limited = sessions.order_by().values("offline")[: cap + 1]
    sql, params = limited.query.sql_with_params()
    counted = (
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN offline THEN 1 ELSE 0 END), 0) "  # noqa: S608
        f"FROM ({sql}) capped"
    )
    with connection.cursor() as cursor:
        cursor.execute(counted, params)
        total, offline = cursor.fetchone()
    if total > cap:
        return SessionCounts(total=cap, online=0, offline=0, capped=True)
    return SessionCounts(total=total, online=total - offline, offline=offline)


def ids_q(ids: list[int]) -> Q:
    """`id IN (ids)`; on SQLite as one JSON parameter, since Django prepares an IN list value
    by value (7 ms for 1,000 ids, the rest of a page takes about as long)."""
    if connection.vendor == "sqlite":
        return Q(id__in=RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)]))
    return Q(id__in=ids)


def rows_counts(rows: list[tuple[int, bool]]) -> SessionCounts:
    offline = sum(1 for _pk, is_offline in rows if is_offline)
    return SessionCounts(total=len(rows), online=len(rows) - offline, offline=offline)


def search_count_capped(
    *, realm: str, term: str, offline: bool | None, now: datetime, cap: int
) -> SessionCounts:
    """The live matches of a common search term, counted up to `cap` (SessionCounts.capped
    beyond), from the trigram table's first `cap` + 1 live matches."""
    found = search_matches_capped(realm=realm, term=term, offline=offline, now=now, cap=cap)
    assert found is not None
    return found[0]


def search_matches_capped(
    *, realm: str, term: str, offline: bool | None, now: datetime, cap: int
) -> tuple[SessionCounts, list[tuple[int, bool]] | None] | None:
    """search_count_capped, and every live match (id, offline) when at most `cap` are live
    (None when capped); None when the trigram table cannot answer."""
    live = term_live_rows(realm=realm, term=term, offline=offline, now=now, limit=cap + 1)
    if live is None:
        return None
    if len(live) > cap:
        return SessionCounts(total=cap, online=0, offline=0, capped=True), None
    return rows_counts(live), live
