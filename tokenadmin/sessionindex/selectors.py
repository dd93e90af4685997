"""Reads over the local session index: one filter definition for the sessions page, its CSV,
saved views, and the reports and bulk revocation that reuse them. Nothing here calls Keycloak."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from math import ceil
from typing import Any, overload
from urllib.parse import quote

from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone

from tokenadmin.accounts.models import User
from tokenadmin.core.durations import duration_text
from tokenadmin.keycloak import Gateway
from tokenadmin.keycloak.types import Consent, KcClient, KcSession, KcUser

from .filters import SORT_COLUMNS, SessionFilters, SessionType, filters_from_query
from .models import ASCII_LOWER, SEARCH_SEPARATOR, IndexedSession, RealmIndex, SavedView
from .search import TermMatches, term_matches

# Tie-breakers after the sorted column, matching the indexes (see IndexedSession.Meta): each
# (realm, X, offline) index ends in the row id, and (realm, offline, username) serves "type".
_TIE_BREAKERS: dict[str, tuple[str, ...]] = {
    "offline": ("username", "id"),
    "username": ("ip_address", "client_ids_text", "offline", "id"),
}

# Expiry histogram buckets: (label, upper bound in seconds from now, exclusive of the previous).
EXPIRY_BUCKETS: tuple[tuple[str, int], ...] = (
    ("≤ 1 h", 3600),
    ("1-6 h", 6 * 3600),
    ("6-24 h", 86400),
    ("1-7 d", 7 * 86400),
    ("7-30 d", 30 * 86400),
)


def _type_q(filters: SessionFilters, *, seek: bool) -> Q:
    """The type condition. With `seek`, written so SQLite can look it up in an index (Django
    writes `offline=True` as a bare `WHERE offline`, which only filters what is read): right
    when nothing else narrows the rows. Beside a search or duration condition, the bare form
    keeps the planner on that condition's covering index, where the type is checked inside
    the index instead of reading a table row per session of the type."""
    if filters.type not in (SessionType.REGULAR, SessionType.OFFLINE):
        return Q()
    offline = filters.type == SessionType.OFFLINE
    return Q(offline__in=[offline]) if seek else Q(offline=offline)


def _search_q(text: str) -> Q:
    """Case-insensitive substring of username, IP or clientIds: one test on search_text, the
    term lowered by the database's lower() as the column is (on SQLite ASCII letters only).
    Written as LIKE (Django escapes the term's wildcards): on PostgreSQL the trigram index of
    migration 0006 serves it; on SQLite it is a little cheaper than instr()."""
    if SEARCH_SEPARATOR in text:
        return Q(pk__in=[])
    return Q(search_text__contains=Lower(Value(text)))


# A realm's distinct client sets (client_ids_text values) read one index seek each, up to this
# many; a realm with more is filtered by client with the plain LIKE.
CLIENT_SETS_MAX = 500


def _client_sets(realm: str) -> list[str] | None:
    """The realm's distinct client_ids_text values, or None when there are too many.

    A skip scan of the (realm, client_ids_text, offline) index written as a recursive query
    (SQLite has none of its own without statistics): each step seeks the next value, so a
    realm with six client sets costs seven seeks, not a pass over 100,000 entries.
    """
    table = connection.ops.quote_name(IndexedSession._meta.db_table)
    # Bounded by a step count, not a LIMIT: PostgreSQL allows no LIMIT in a recursive query.
    sql = (
        "WITH RECURSIVE sets(t, n) AS ("  # noqa: S608 - only the table name is interpolated
        f"SELECT MIN(client_ids_text), 1 FROM {table} WHERE realm = %s "
        f"UNION ALL SELECT (SELECT MIN(client_ids_text) FROM {table} "
        "WHERE realm = %s AND client_ids_text > sets.t), sets.n + 1 FROM sets "
        f"WHERE sets.t IS NOT NULL AND sets.n <= {CLIENT_SETS_MAX}) "
        "SELECT t FROM sets WHERE t IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [realm, realm])
        values = [row[0] for row in cursor.fetchall()]
    return None if len(values) > CLIENT_SETS_MAX else values


def _client_q(client: str, client_sets: list[str] | None) -> Q:
    """Sessions that hold `client`. client_ids_text is " a b c ", so a space on each side
    matches whole clientIds only. Given the realm's client sets, written as `client_ids_text IN
    (the sets that hold it)`: ranges of the client index, counted without testing a row.
    The sets are picked as the LIKE that `contains` writes picks them (ASCII letters folded
    on SQLite, case-sensitive elsewhere)."""
    needle = f" {client} "
    if client_sets is None:
        return Q(client_ids_text__contains=needle)
    if connection.vendor == "sqlite":
        needle = needle.translate(ASCII_LOWER)
        chosen = [value for value in client_sets if needle in value.translate(ASCII_LOWER)]
        return Q(
            client_ids_text__in=RawSQL("SELECT value FROM json_each(%s)", [json.dumps(chosen)])
        )
    return Q(client_ids_text__in=[value for value in client_sets if needle in value])


def _predicates_q(
    filters: SessionFilters, now: datetime, client_sets: list[str] | None = None
) -> Q:
    """Search, client and duration conditions (everything but realm and type)."""
    where = Q()
    if filters.q:
        where &= _search_q(filters.q)
    if filters.client:
        where &= _client_q(filters.client, client_sets)
    if filters.expiring_within_s is not None:
        where &= Q(expires_at__lte=now + timedelta(seconds=filters.expiring_within_s))
    if filters.idle_over_s is not None:
        where &= Q(last_access_at__lt=now - timedelta(seconds=filters.idle_over_s))
    if filters.older_than_s is not None:
        where &= Q(started_at__lt=now - timedelta(seconds=filters.older_than_s))
    return where


def _ended(realm: str, now: datetime) -> QuerySet[IndexedSession]:
    """The realm's sessions whose predicted end has passed: Keycloak has dropped them (or will
    at any moment), the index keeps them until its next refresh. One range of the (realm,
    expires_at, offline) index; a NULL expiry (unknown) is never in it."""
    return IndexedSession.objects.filter(realm=realm, expires_at__lte=now)


def _live_q(realm: str, now: datetime) -> Q:
    """Sessions still live at `now`: `expires_at > now OR expires_at IS NULL`, written as
    `id NOT IN (the ended range)`. The ended range is read once from the expires index (few
    rows between two refreshes) and each candidate's row id tested against it, so a walk of
    a sort index or a search index stays inside that index; the OR form would read a table
    row per walked entry, as only the expires index holds expires_at."""
    return ~Q(id__in=_ended(realm, now).values("id"))


def _sort_is_range(filters: SessionFilters) -> bool:
    """True when the only conditions are durations and one of them is on the sorted column
    (idle for more than 2 h, by last access): the sort index then holds the matches as one
    range, read in order like an unfiltered page."""
    if filters.q or filters.client:
        return False
    column = sort_order(filters.sort)[0].removeprefix("-")
    return {
        "expires_at": filters.expiring_within_s,
        "last_access_at": filters.idle_over_s,
        "started_at": filters.older_than_s,
    }.get(column) is not None


def _has_duration(filters: SessionFilters) -> bool:
    return any(
        value is not None
        for value in (filters.expiring_within_s, filters.idle_over_s, filters.older_than_s)
    )


def indexed_sessions_select(
    *, realm: str, filters: SessionFilters, now: datetime | None = None
) -> QuerySet[IndexedSession]:
    """The realm's live indexed sessions matching `filters`, in the filter's sort order.

    A session whose predicted expiry has passed by `now` is left out (it ended since the last
    refresh); one with no predicted expiry stays. Search is case-insensitive over username,
    IP and clientIds; durations count back (idle, age) or forward (expiry) from `now`. Use it
    to count, export or act on the set; the sessions page reads one page through
    indexed_sessions_page_select.
    """
    return _sessions_select(realm=realm, filters=filters, now=now or timezone.now())


def _sessions_select(
    *, realm: str, filters: SessionFilters, now: datetime, client_sets: list[str] | None = None
) -> QuerySet[IndexedSession]:
    predicates = _predicates_q(filters, now, client_sets)
    return (
        IndexedSession.objects.filter(realm=realm)
        .filter(_type_q(filters, seek=not predicates))
        .filter(predicates)
        .filter(_live_q(realm, now))
        .order_by(*sort_order(filters.sort))
    )


def sort_order(sort: str) -> list[str]:
    """ORDER BY terms for a sort key like "-started": the column, then the type and the id, in
    the order of the (realm, column, offline) index, so the walk needs no sort step."""
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    column = SORT_COLUMNS.get(key, SORT_COLUMNS["last_access"])[1]
    prefix = "-" if descending else ""
    return [f"{prefix}{name}" for name in (column, *_TIE_BREAKERS.get(column, ("offline", "id")))]


@dataclass(frozen=True)
class SessionCounts:
    total: int
    online: int
    offline: int


def sessions_count_select(*, sessions: QuerySet[IndexedSession]) -> SessionCounts:
    """How many sessions match, regular and offline, in one pass.

    One aggregate without GROUP BY: SQLite then picks the index that covers the conditions
    (the search index for a search, a range index for a duration) instead of reading rows.
    """
    row = sessions.order_by().aggregate(
        total=Count("id"), offline=Count("id", filter=Q(offline=True))
    )
    return SessionCounts(
        total=row["total"], online=row["total"] - row["offline"], offline=row["offline"]
    )


def sessions_ended_select(*, realm: str, now: datetime) -> SessionCounts:
    """How many of the realm's indexed sessions ended since the last refresh, by type."""
    return sessions_count_select(sessions=_ended(realm, now))


@dataclass(frozen=True)
class SessionSummary:
    total: int
    online: int
    offline: int
    expiring_within_1h: int
    distinct_users: int
    # [(bucket label, sessions)], soonest first; "unknown" last when any.
    expiry_histogram: list[tuple[str, int]] = field(default_factory=list)


def sessions_summary_select(
    *, sessions: QuerySet[IndexedSession], now: datetime | None = None
) -> SessionSummary:
    """Totals for the summary cards and the expiry chart, over the live sessions of `sessions`.

    Every count is of an expiry range after `now`, or of the unknown expiries: an ended
    session (expiry passed since the last refresh) is in none. So the realm's plain rows give
    the same answer as indexed_sessions_select's live set, only cheaper: several small counts
    rather than one aggregate, each a range count inside the (realm, expires_at, offline)
    index, where a single CASE-per-row aggregate, or the ended-id test, reads every entry.
    """
    now = now or timezone.now()
    sessions = sessions.order_by()
    known = sessions_count_select(sessions=sessions.filter(expires_at__gt=now))
    unknown = sessions_count_select(sessions=sessions.filter(expires_at__isnull=True))
    histogram: list[tuple[str, int]] = []
    lower = now
    for label, bound_s in EXPIRY_BUCKETS:
        upper = now + timedelta(seconds=bound_s)
        histogram.append(
            (label, sessions.filter(expires_at__gt=lower, expires_at__lte=upper).count())
        )
        lower = upper
    histogram.append(("> 30 d", sessions.filter(expires_at__gt=lower).count()))
    if unknown.total:
        histogram.append(("unknown", unknown.total))
    # Users by the covering (realm, user_id) index, each entry's row id tested against the
    # ended ones (read once from the expires index).
    live = sessions.exclude(id__in=sessions.filter(expires_at__lte=now).values("id"))
    return SessionSummary(
        total=known.total + unknown.total,
        online=known.online + unknown.online,
        offline=known.offline + unknown.offline,
        expiring_within_1h=histogram[0][1],
        distinct_users=live.aggregate(n=Count("user_id", distinct=True))["n"],
        expiry_histogram=histogram,
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
    rows = IndexedSession.objects.filter(_ids_q(ids)).values_list(*_PAGE_FIELDS)
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
    counts: "SessionCounts"
    number: int
    per_page: int

    @property
    def total(self) -> int:
        return self.counts.total

    @property
    def num_pages(self) -> int:
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
        return self.number < self.num_pages


# Up to this many matches, a narrowed set is read as a list of ids and sorted directly;
# beyond it, matches are dense enough that walking the sort index finds a page at once.
SMALL_SET = 2000
# A duration condition with many matches first tries the first WINDOW_PER_ROW * (rows up to
# the end of the page) entries of the sort index (at least WINDOW_MIN).
WINDOW_PER_ROW = 20
WINDOW_MIN = 1000


def _search_only_matches(
    *, realm: str, filters: SessionFilters, now: datetime
) -> TermMatches | None:
    """A search with no client or duration condition, looked up in the trigram table
    (search.term_matches), or None when that cannot answer. The table holds every indexed
    session: the ended ones that match (a short range of the expires index) are taken out."""
    if not filters.q or filters.client or _has_duration(filters):
        return None
    offline = {SessionType.OFFLINE: True, SessionType.REGULAR: False}.get(filters.type)
    found = term_matches(realm=realm, term=filters.q, offline=offline, few=SMALL_SET)
    if found is None:
        return None
    ended = list(
        _ended(realm, now)
        .filter(_search_q(filters.q))
        .filter(_type_q(filters, seek=False))
        .values_list("id", "offline")
    )
    if not ended:
        return found
    if found.rows is not None:
        gone = {pk for pk, _offline in ended}
        rows = [row for row in found.rows if row[0] not in gone]
        offline_n = sum(1 for _pk, is_offline in rows if is_offline)
        return TermMatches(online=len(rows) - offline_n, offline=offline_n, rows=rows)
    ended_offline = sum(1 for _pk, is_offline in ended if is_offline)
    return TermMatches(
        online=found.online - (len(ended) - ended_offline),
        offline=found.offline - ended_offline,
        rows=None,
    )


def _ids_q(ids: list[int]) -> Q:
    """`id IN (ids)`; on SQLite as one JSON parameter, since Django prepares an IN list value
    by value (7 ms for 1,000 ids, the rest of a page takes about as long)."""
    if connection.vendor == "sqlite":
        return Q(id__in=RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)]))
    return Q(id__in=ids)


def _page_counts(
    *,
    realm: str,
    filters: SessionFilters,
    sessions: QuerySet[IndexedSession],
    narrowed: bool,
    now: datetime,
) -> SessionCounts:
    """Live matches by type. Without a search or duration condition, plain range counts in
    the (realm, offline, ...) index, which SQLite steps through without testing a row, less
    the ended sessions (a short range of the expires index); with one, one pass over that
    condition's covering index that also splits by type."""
    if narrowed:
        return sessions_count_select(sessions=sessions)
    live, _ended_counts = realm_totals_select(realm=realm, now=now)
    if filters.type == SessionType.OFFLINE:
        return SessionCounts(total=live.offline, online=0, offline=live.offline)
    if filters.type == SessionType.REGULAR:
        return SessionCounts(total=live.online, online=live.online, offline=0)
    return live


def realm_totals_select(*, realm: str, now: datetime) -> tuple[SessionCounts, SessionCounts]:
    """The realm's live sessions and those that ended since the last refresh, by type: what
    the page's freshness line, cards and unfiltered table count, all from one `now`."""
    # Two (realm, offline) ranges rather than the whole realm: without statistics SQLite
    # counts a bare realm in whichever index comes first, which may be the widest.
    realm_rows = IndexedSession.objects.filter(realm=realm)
    online = realm_rows.filter(offline__in=[False]).count()
    offline = realm_rows.filter(offline__in=[True]).count()
    ended = sessions_ended_select(realm=realm, now=now)
    live = SessionCounts(
        total=online + offline - ended.total,
        online=online - ended.online,
        offline=offline - ended.offline,
    )
    return live, ended


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
    window = max(WINDOW_MIN, WINDOW_PER_ROW * need)
    walked = list(
        IndexedSession.objects.filter(realm=realm)
        .filter(_type_q(filters, seek=True))
        .filter(_live_q(realm, now))
        .order_by(*sort_order(filters.sort))
        .annotate(hit=ExpressionWrapper(predicates, output_field=BooleanField()))
        .values_list("id", "hit")[:window]
    )
    ordered = [pk for pk, hit in walked if hit]
    if len(ordered) >= need or len(walked) < window:
        return ordered[start:need]
    return None


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
    source = sessions
    counts = None
    predicates = _predicates_q(filters, now, client_sets)
    if predicates:
        matches = _search_only_matches(realm=realm, filters=filters, now=now)
        if matches is not None:
            counts = SessionCounts(
                total=matches.online + matches.offline,
                online=matches.online,
                offline=matches.offline,
            )
            probe = matches.rows
        else:
            probe = list(sessions.order_by().values_list("id", "offline")[: SMALL_SET + 1])
            if len(probe) > SMALL_SET:
                probe = None
        if probe is not None:
            offline = sum(1 for _pk, is_offline in probe if is_offline)
            counts = SessionCounts(total=len(probe), online=len(probe) - offline, offline=offline)
            source = IndexedSession.objects.filter(_ids_q([pk for pk, _o in probe]))
            source = source.order_by(*sort_order(filters.sort))
    if counts is None:
        counts = _page_counts(
            realm=realm, filters=filters, sessions=sessions, narrowed=bool(predicates), now=now
        )
    number = min(max(1, number), max(1, ceil(counts.total / per_page)))
    start = (number - 1) * per_page
    ids = None
    if source is sessions and predicates and _has_duration(filters) and not _sort_is_range(filters):
        # The counts split the matches by type: when they are all of one type, the walk
        # may skip the other type inside the sort index without changing the answer. (Older
        # than a day, sorted by last access: the matches are the offline sessions, which the
        # walk then meets at once instead of after 80,000 recent regular ones.)
        walk_filters = filters
        if counts.total and not counts.online:
            walk_filters = replace(filters, type=SessionType.OFFLINE)
        elif counts.total and not counts.offline:
            walk_filters = replace(filters, type=SessionType.REGULAR)
        ids = _window_page_ids(
            realm=realm,
            filters=walk_filters,
            predicates=predicates,
            start=start,
            per_page=per_page,
            now=now,
        )
        if ids is None:
            # Walk the sort index and test each id against the matching ids (from the
            # condition's own range index) rather than reading each walked row.
            matching = IndexedSession.objects.filter(realm=realm).filter(predicates)
            source = IndexedSession.objects.filter(realm=realm, id__in=matching.values("id"))
            source = source.filter(_type_q(filters, seek=False)).filter(_live_q(realm, now))
            source = source.order_by(*sort_order(filters.sort))
    if ids is None:
        # Ids first, then rows: the id walk stays inside the sort index (even at a deep
        # offset), and only one page of full rows is read.
        ids = list(source.values_list("id", flat=True)[start : start + per_page])
    tz = timezone.get_current_timezone()
    by_id = page_sessions_select(ids)
    rows = [
        _session_row(by_id[pk], now=now, tz=tz, mine=my_session_id) for pk in ids if pk in by_id
    ]
    return SessionPage(rows=rows, counts=counts, number=number, per_page=per_page)


@dataclass(frozen=True)
class ClientCount:
    client_uuid: str
    client_id: str
    sessions: int


def indexed_clients_select(*, realm: str, now: datetime | None = None) -> list[ClientCount]:
    """Every client the realm's live indexed sessions hold, with how many sessions hold it.

    A realm has few distinct client combinations: count them by `client_ids_text` (one pass
    over its covering index; grouping by the JSON map sorted every row, 80 ms at 100k), then
    read one row's map per combination for the client uuids.
    """
    sessions = IndexedSession.objects.filter(realm=realm).filter(
        _live_q(realm, now or timezone.now())
    )
    totals: dict[tuple[str, str], int] = {}
    combos = sessions.values("client_ids_text").annotate(n=Count("id")).order_by()
    for combo in combos:
        clients = (
            sessions.filter(client_ids_text=combo["client_ids_text"])
            .values_list("clients", flat=True)
            .first()
        )
        for uuid, client_id in (clients or {}).items():
            totals[(uuid, client_id)] = totals.get((uuid, client_id), 0) + combo["n"]
    return sorted(
        (ClientCount(uuid, client_id, n) for (uuid, client_id), n in totals.items()),
        key=lambda c: (-c.sessions, c.client_id.lower()),
    )


@dataclass(frozen=True)
class IndexedRealm:
    realm: str
    index: RealmIndex | None
    sessions: int  # live ones, as the realm's sessions page counts them
    offline: int
    ended: int = 0  # predicted expiry passed since the last refresh, in no other count

    @property
    def regular(self) -> int:
        return self.sessions - self.offline

    @property
    def indexed(self) -> bool:
        return bool(self.sessions or self.ended or (self.index and self.index.refreshed_at))


def _realm_counts(sessions: QuerySet[IndexedSession]) -> dict[str, Any]:
    return {
        row["realm"]: row
        for row in sessions.values("realm")
        .annotate(total=Count("id"), offline=Count("id", filter=Q(offline=True)))
        .order_by()
    }


def indexed_realms_select(
    *, realms: Iterable[str], now: datetime | None = None
) -> list[IndexedRealm]:
    """The given realms with their live indexed session counts and freshness, in the given
    order: all indexed sessions less those whose predicted expiry has passed by `now`."""
    names = list(realms)
    now = now or timezone.now()
    indexes = {ri.realm: ri for ri in RealmIndex.objects.filter(realm__in=names)}
    counts = _realm_counts(IndexedSession.objects.filter(realm__in=names))
    ended = _realm_counts(IndexedSession.objects.filter(realm__in=names, expires_at__lte=now))
    rows = []
    for name in names:
        total = counts.get(name, {}).get("total", 0)
        offline = counts.get(name, {}).get("offline", 0)
        ended_total = ended.get(name, {}).get("total", 0)
        ended_offline = ended.get(name, {}).get("offline", 0)
        rows.append(
            IndexedRealm(
                realm=name,
                index=indexes.get(name),
                sessions=total - ended_total,
                offline=offline - ended_offline,
                ended=ended_total,
            )
        )
    return rows


def saved_views_select(*, realm: str, user: User) -> QuerySet[SavedView]:
    """The realm's shared views and the admin's own private ones, by name."""
    return (
        SavedView.objects.filter(realm=realm)
        .filter(Q(shared=True) | Q(owner=user))
        .select_related("owner")
        .order_by("name", "id")
    )


def saved_view_filters(view: SavedView) -> SessionFilters:
    """The filter a saved view names, parsed by the same form as the page's query string."""
    return filters_from_query(view.query)


# --- Live reads (Keycloak through the gateway): the user and client pages --------------------


@dataclass(frozen=True)
class OfflineClientSessions:
    """A user's offline sessions that hold one client (uuid None: a consent for a client that
    Keycloak no longer lists)."""

    client_uuid: str | None
    client_id: str
    sessions: list[KcSession]


@dataclass(frozen=True)
class UserSessionsLive:
    user: KcUser
    online: list[KcSession]
    offline_by_client: list[OfflineClientSessions]
    consents: list[Consent]

    @property
    def offline_total(self) -> int:
        return len({s.id for group in self.offline_by_client for s in group.sessions})


def user_sessions_live_select(*, gateway: Gateway, realm: str, user_id: str) -> UserSessionsLive:
    """Everything Keycloak holds for one user: online sessions, offline ones per client, consents.

    Keycloak has no "all offline sessions of a user" call: the consents that carry an offline
    token name the clients, and each such client's list is asked for separately.
    """
    user = gateway.user_get(realm, user_id)
    online = sorted(gateway.user_sessions(realm, user_id), key=lambda s: s.started_at, reverse=True)
    consents = gateway.user_consents(realm, user_id)
    offline_client_ids = sorted(c.client_id for c in consents if c.offline_token)
    groups: list[OfflineClientSessions] = []
    if offline_client_ids:
        uuid_of = {client.client_id: client.uuid for client in gateway.clients_list(realm)}
        for client_id in offline_client_ids:
            uuid = uuid_of.get(client_id)
            sessions = gateway.user_offline_sessions(realm, user_id, uuid) if uuid else []
            groups.append(OfflineClientSessions(uuid, client_id, sessions))
    return UserSessionsLive(user=user, online=online, offline_by_client=groups, consents=consents)


@dataclass(frozen=True)
class ClientSessionsLive:
    client: KcClient
    online_count: int
    offline_count: int
    offline: bool  # which list `sessions` is
    sessions: list[KcSession]
    first: int
    max: int

    @property
    def listed_total(self) -> int:
        return self.offline_count if self.offline else self.online_count

    @property
    def last_index(self) -> int:
        return self.first + len(self.sessions)

    @property
    def has_next(self) -> bool:
        return self.last_index < self.listed_total

    @property
    def has_previous(self) -> bool:
        return self.first > 0


def client_sessions_live_select(
    *, gateway: Gateway, realm: str, client_uuid: str, offline: bool, first: int, max_: int
) -> ClientSessionsLive:
    """A client, its live session counts, and one page of its online or offline sessions, read
    from Keycloak with first/max (the index can be a refresh old; this page is not)."""
    client = gateway.client_get(realm, client_uuid)
    online_count = gateway.client_session_count(realm, client_uuid, offline=False)
    offline_count = gateway.client_session_count(realm, client_uuid, offline=True)
    sessions = gateway.client_sessions_page(
        realm, client_uuid, offline=offline, first=first, max_=max_
    )
    return ClientSessionsLive(
        client=client,
        online_count=online_count,
        offline_count=offline_count,
        offline=offline,
        sessions=sessions,
        first=first,
        max=max_,
    )
