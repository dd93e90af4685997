"""One page of the sessions table: the ids of the page (sort index walks, small match sets,
the search table), its rows ready to print, and the counts the page shows."""

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from functools import partial
from math import ceil
from typing import overload
from urllib.parse import quote

from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from tokenadmin.core.durations import duration_text

from .filters import SessionFilters, SessionType
from .models import IndexedSession
from .selectors import (
    SessionCounts,
    _client_sets,
    _has_duration,
    _live_q,
    _predicates_q,
    _sessions_select,
    _sort_is_range,
    _type_q,
    realm_totals_select,
    sort_order,
)
from .selectors_count import (
    count_cap_for,
    ids_q,
    rows_counts,
    search_matches_capped,
    sessions_count_capped,
)


@dataclass(slots=True)
class PageSession:
    """The indexed session fields a table row shows, read without a model instance."""

    id: int
    session_id: str
    offline: bool
    user_id: str
    username: str
    ip_address: str
    started_at: datetime
    last_access_at: datetime
    remember_me: bool
    clients: dict[str, str]
    expires_at: datetime | None


_PAGE_FIELDS = (
    "id",
    "session_id",
    "offline",
    "user_id",
    "username",
    "ip_address",
    "started_at",
    "last_access_at",
    "remember_me",
    "clients",
    "expires_at",
)


@overload
def _utc(value: datetime) -> datetime: ...
@overload
def _utc(value: None) -> None: ...
def _utc(value: datetime | None) -> datetime | None:
    """A naive UTC datetime as SQLite's module gives it back (Django registers its parser for
    datetime columns), made aware."""
    return value.replace(tzinfo=UTC) if value else None


def page_sessions_select(ids: list[int]) -> dict[int, PageSession]:
    """The sessions with these ids, by id.

    On SQLite in UTC the query Django compiles is run as is and its values converted here:
    Django's per-value converters cost ~17 µs a row, a third of a 200-row page's time.
    """
    rows = IndexedSession.objects.filter(ids_q(ids)).values_list(*_PAGE_FIELDS)
    if connection.vendor != "sqlite" or connection.timezone_name != "UTC":
        return {row[0]: PageSession(*row) for row in rows}
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            pk: PageSession(
                pk,
                session_id,
                bool(offline),
                user_id,
                username,
                ip_address,
                _utc(started_at),
                _utc(last_access_at),
                bool(remember_me),
                json.loads(clients),
                _utc(expires_at),
            )
            for (
                pk,
                session_id,
                offline,
                user_id,
                username,
                ip_address,
                started_at,
                last_access_at,
                remember_me,
                clients,
                expires_at,
            ) in cursor.fetchall()
        }


@dataclass(slots=True)
class SessionRow:
    """One table row: the indexed session plus what the page shows about it. (Not frozen:
    a frozen dataclass's constructor costs ~5 µs more, and a page builds up to 200.)"""

    session: PageSession
    expires_in_s: int | None
    idle_s: int
    is_mine: bool
    clients: list[tuple[str, str]]  # [(client uuid, clientId)] by clientId
    # Times as the page prints them (local time zone), made here once per row because the
    # `date` filter costs ~0.2 ms a call and a 200-row page would spend 100 ms on it.
    started_text: str
    started_exact: str
    last_access_exact: str
    expires_exact: str
    # The rest of what a row prints, ready to print: every {{ }} and {% if %} in a row costs
    # the template engine a few microseconds, and a page has 50 to 200 rows.
    user_path: str  # user id, URL-quoted
    client_paths: list[tuple[str, str]]  # [(client uuid URL-quoted, clientId)] by clientId
    last_access_text: str  # "just now", "5 min ago"
    expires_text: str  # "unknown", "expired", "2 h 10 min"
    expires_class: str  # CSS class of expires_text, "" for none


def _exact(moment: datetime | None, tz: tzinfo) -> str:
    """ "%Y-%m-%d %H:%M:%S %Z" in `tz`, through isoformat (strftime costs 4x as much)."""
    if not moment:
        return ""
    local = moment.astimezone(tz)
    return f"{local.isoformat(' ', 'seconds')[:19]} {local.tzname() or ''}"


def _expires_shown(expires_in_s: int | None) -> tuple[str, str]:
    if expires_in_s is None:
        return "unknown", "text-secondary"
    if expires_in_s <= 0:
        return "expired", "text-danger"
    if expires_in_s <= 3600:
        return duration_text(expires_in_s), "text-warning-emphasis fw-semibold"
    return duration_text(expires_in_s), ""


def _session_row(session: PageSession, *, now: datetime, tz: tzinfo, mine: str) -> SessionRow:
    expires_at = session.expires_at
    # Rounded up: a row is listed while expires_at > now, so half a second left reads "1 s",
    # never "expired".
    expires_in_s = ceil((expires_at - now).total_seconds()) if expires_at else None
    idle_s = max(0, int((now - session.last_access_at).total_seconds()))
    clients = sorted(session.clients.items(), key=lambda item: item[1].lower())
    expires_text, expires_class = _expires_shown(expires_in_s)
    started_exact = _exact(session.started_at, tz)
    return SessionRow(
        session=session,
        expires_in_s=expires_in_s,
        idle_s=idle_s,
        is_mine=bool(mine) and session.session_id == mine,
        clients=clients,
        started_text=started_exact[:16],
        started_exact=started_exact,
        last_access_exact=_exact(session.last_access_at, tz),
        expires_exact=_exact(expires_at, tz),
        user_path=quote(session.user_id, safe="/"),
        client_paths=[(quote(uuid, safe="/"), client_id) for uuid, client_id in clients],
        last_access_text="just now" if idle_s < 60 else f"{duration_text(idle_s)} ago",
        expires_text=expires_text,
        expires_class=expires_class,
    )


@dataclass(frozen=True)
class SessionPage:
    rows: list[SessionRow]
    counts: SessionCounts
    number: int
    per_page: int

    @property
    def total(self) -> int:
        return self.counts.total

    @property
    def capped(self) -> bool:
        """More match than `total` (counting stopped there): the page says "more than"."""
        return self.counts.capped

    @property
    def num_pages(self) -> int:
        """The pages known to exist (when capped, more follow)."""
        return max(1, ceil(self.total / self.per_page))

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def end_index(self) -> int:
        return min(self.number * self.per_page, self.total)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages or self.capped


# Up to this many matches, a narrowed set is read as a list of ids and sorted directly;
# beyond it, matches are dense enough that walking the sort index finds a page at once.
SMALL_SET = 2000
# A duration condition with many matches first tries the first WINDOW_PER_ROW * (rows up to
# the end of the page) entries of the sort index (at least WINDOW_MIN).
WINDOW_PER_ROW = 20
WINDOW_MIN = 1000


def _search_only_matches(
    *, realm: str, filters: SessionFilters, now: datetime, cap: int
) -> tuple[SessionCounts, list[tuple[int, bool]] | None] | None:
    """A search with no client or duration condition, looked up in the trigram table
    (search.py): (its live counts, its live matches when not capped), or None when the table
    cannot answer. The table holds every indexed session, ended ones too: each match read
    is checked by its row (ended: predicted expiry passed), never the whole ended range."""
    if not filters.q or filters.client or _has_duration(filters):
        return None
    offline = {SessionType.OFFLINE: True, SessionType.REGULAR: False}.get(filters.type)
    # Every live match up to the cap comes back: the page sorts them by id (a rare term's
    # matches are too sparse for a walk of the sort index to meet a page of them soon).
    return search_matches_capped(realm=realm, term=filters.q, offline=offline, now=now, cap=cap)


def _page_counts(
    *,
    realm: str,
    filters: SessionFilters,
    sessions: QuerySet[IndexedSession],
    narrowed: bool,
    now: datetime,
    cap: int,
) -> SessionCounts:
    """Live matches by type. Without a search or duration condition, plain range counts in
    the (realm, offline, ...) index, which SQLite steps through without testing a row, less
    the ended sessions (a short range of the expires index); with one, one pass over that
    condition's covering index that also splits by type, stopped after `cap` matches."""
    if narrowed:
        return sessions_count_capped(sessions=sessions, cap=cap)
    live, _ended_counts = realm_totals_select(realm=realm, now=now)
    if filters.type == SessionType.OFFLINE:
        return SessionCounts(total=live.offline, online=0, offline=live.offline)
    if filters.type == SessionType.REGULAR:
        return SessionCounts(total=live.online, online=live.online, offline=0)
    return live


def _window_page_ids(
    *,
    realm: str,
    filters: SessionFilters,
    predicates: Q,
    start: int,
    per_page: int,
    now: datetime,
) -> list[int] | None:
    """One page of ids from the start of the sort order, or None when it is not there.

    Walks the first entries of the sort index (inside the index), tests just those rows
    against the condition, and keeps the order: when enough of them match, or the walk read
    the whole realm, that is exactly the page. A condition that runs against the sort (the
    matches all at the far end) falls through to the caller's slower, always-right way.
    """
    need = start + per_page
    largest = max(WINDOW_MIN, WINDOW_PER_ROW * need)
    walk = (
        IndexedSession.objects.filter(realm=realm)
        .filter(_type_q(filters, seek=True))
        .filter(_live_q(realm, now, sort=filters.sort))
        .order_by(*sort_order(filters.sort))
        .annotate(hit=ExpressionWrapper(predicates, output_field=BooleanField()))
        .values_list("id", "hit")
    )
    # Growing windows, from twice the rows needed: a walk of one type skips the other type's
    # entries inside the index, and what it skips grows with the window (offline sessions by
    # last access at 1,000,000: 15 ms for 100 of them, 75 ms for 1,000).
    window = min(largest, 2 * need)
    while True:
        walked = list(walk[:window])
        ordered = [pk for pk, hit in walked if hit]
        if len(ordered) >= need or len(walked) < window:
            return ordered[start:need]
        if window >= largest:
            return None
        window = min(largest, 4 * window)


def indexed_sessions_page_select(
    *,
    realm: str,
    filters: SessionFilters,
    number: int,
    per_page: int,
    my_session_id: str = "",
    now: datetime | None = None,
) -> SessionPage:
    """One page of the realm's sessions matching `filters`, with the counts the page shows.

    A page past the end shows the last page, as a shared link to a shrunken set should.
    Reads ids first, then one page of rows. A search alone is counted in the trigram table
    (search.term_matches), which also lists a rare match. Otherwise, with a search, client or
    duration condition, it first collects up to SMALL_SET matching ids from the covering
    index. A rare match is then counted and sorted from that list (no walk of 100,000 index
    entries looking for a page).
    A common one is counted in one pass, and its page found by walking the sort index: a
    search tests each walked row; a duration first tries the start of the sort order
    (_window_page_ids), else tests each walked id against the matching ids.
    """
    now = now or timezone.now()
    # Read now, used at once: the client sets of this moment give this answer's client filter.
    client_sets = _client_sets(realm) if filters.client else None
    sessions = _sessions_select(realm=realm, filters=filters, now=now, client_sets=client_sets)
    predicates = _predicates_q(filters, now, client_sets)
    cap = count_cap_for(number=number, per_page=per_page)
    source, counts = sessions, None
    if predicates:
        source, counts = _small_set_source(
            realm=realm, filters=filters, sessions=sessions, now=now, cap=cap
        )
    if counts is None:
        counts = _page_counts(
            realm=realm,
            filters=filters,
            sessions=sessions,
            narrowed=bool(predicates),
            now=now,
            cap=cap,
        )
    number = min(max(1, number), max(1, ceil(counts.total / per_page)))
    ids = _page_ids(
        realm=realm,
        filters=filters,
        predicates=predicates,
        sessions=sessions,
        source=source,
        counts=counts,
        start=(number - 1) * per_page,
        per_page=per_page,
        now=now,
    )
    tz = timezone.get_current_timezone()
    by_id = page_sessions_select(ids)
    rows = [
        _session_row(by_id[pk], now=now, tz=tz, mine=my_session_id) for pk in ids if pk in by_id
    ]
    return SessionPage(rows=rows, counts=counts, number=number, per_page=per_page)


def _page_ids(
    *,
    realm: str,
    filters: SessionFilters,
    predicates: Q,
    sessions: QuerySet[IndexedSession],
    source: QuerySet[IndexedSession],
    counts: SessionCounts,
    start: int,
    per_page: int,
    now: datetime,
) -> list[int]:
    """The ids of one page, in the page's order."""
    ids = None
    if source is sessions and predicates and _has_duration(filters) and not _sort_is_range(filters):
        ids, source = _duration_page_ids(
            realm=realm,
            filters=filters,
            predicates=predicates,
            counts=counts,
            start=start,
            per_page=per_page,
            now=now,
        )
    if ids is None:
        # Ids first, then rows: the id walk stays inside the sort index (even at a deep
        # offset), and only one page of full rows is read.
        ids = list(source.values_list("id", flat=True)[start : start + per_page])
    return ids


def _small_set_source(
    *,
    realm: str,
    filters: SessionFilters,
    sessions: QuerySet[IndexedSession],
    now: datetime,
    cap: int,
) -> tuple[QuerySet[IndexedSession], SessionCounts | None]:
    """A narrowed set with at most SMALL_SET matches (a search: up to its cap) as (its rows by
    id in sort order, its counts); a larger one as (`sessions`, None), or with its counts from
    the search table."""
    matches = _search_only_matches(realm=realm, filters=filters, now=now, cap=cap)
    counts = None
    if matches is not None:
        counts, probe = matches
    else:
        probe = list(sessions.order_by().values_list("id", "offline")[: SMALL_SET + 1])
        if len(probe) > SMALL_SET:
            probe = None
    if probe is None:
        return sessions, counts
    counts = rows_counts(probe)
    source = IndexedSession.objects.filter(ids_q([pk for pk, _o in probe]))
    return source.order_by(*sort_order(filters.sort)), counts


def _duration_page_ids(
    *,
    realm: str,
    filters: SessionFilters,
    predicates: Q,
    counts: SessionCounts,
    start: int,
    per_page: int,
    now: datetime,
) -> tuple[list[int] | None, QuerySet[IndexedSession]]:
    """A common match with a duration condition: the page's ids from the start of the sort
    order, else (None, the walk of the sort index testing each id against the matches)."""
    # The counts split the matches by type: when they are all of one type, the walk may skip
    # the other type inside the sort index without changing the answer. (Older than a day,
    # sorted by last access: the matches are the offline sessions, which the walk then meets
    # at once instead of after 80,000 recent regular ones.)
    walk_filters = filters
    if counts.total and not counts.capped and not counts.online:
        walk_filters = replace(filters, type=SessionType.OFFLINE)
    elif counts.total and not counts.capped and not counts.offline:
        walk_filters = replace(filters, type=SessionType.REGULAR)
    window = partial(
        _window_page_ids,
        realm=realm,
        predicates=predicates,
        start=start,
        per_page=per_page,
        now=now,
    )
    ids = window(filters=walk_filters)
    if ids is None and counts.capped and filters.type == SessionType.ALL:
        # A capped count does not split by type: look for the other type only now that the
        # start of the sort order did not hold the page (a test that may read the whole range).
        only = _only_type(realm=realm, predicates=predicates)
        if only != SessionType.ALL:
            ids = window(filters=replace(filters, type=only))
    # Walk the sort index and test each id against the matching ids (from the condition's own
    # range index) rather than reading each walked row.
    matching = IndexedSession.objects.filter(realm=realm).filter(predicates)
    source = IndexedSession.objects.filter(realm=realm, id__in=matching.values("id"))
    source = source.filter(_type_q(filters, seek=False)).filter(
        _live_q(realm, now, sort=filters.sort)
    )
    return ids, source.order_by(*sort_order(filters.sort))


def _only_type(*, realm: str, predicates: Q) -> str:
    """SessionType.OFFLINE when no regular row matches (ended or not), REGULAR when no offline
    one does, else ALL: what a capped count cannot say. Each is an existence test inside the
    condition's covering index (ended rows included: no table row read)."""
    rows = IndexedSession.objects.filter(realm=realm).filter(predicates).order_by()
    if not rows.filter(offline__in=[False]).exists():
        return SessionType.OFFLINE
    if not rows.filter(offline__in=[True]).exists():
        return SessionType.REGULAR
    return SessionType.ALL
