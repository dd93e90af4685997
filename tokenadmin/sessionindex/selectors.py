"""Reads over the local session index: one filter definition for the sessions page, its CSV,
saved views, and the reports and bulk revocation that reuse them; the realm's totals, summary,
clients and realms list. Nothing here calls Keycloak (selectors_live.py does; one page of the
table is selectors_page.py)."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone

from tokenadmin.accounts.models import User

from .figures import EXPIRY_BUCKETS, realm_figures_ended, realm_figures_live_select
from .filters import SORT_COLUMNS, SessionFilters, SessionType, filters_from_query
from .models import (
    ASCII_LOWER,
    SEARCH_SEPARATOR,
    IndexedSession,
    RealmFigures,
    RealmIndex,
    SavedView,
)

# Tie-breakers after the sorted column, matching the indexes (see IndexedSession.Meta): each
# (realm, X, offline) index ends in the row id, and (realm, offline, username) serves "type";
# the last-access, client and user indexes hold expires_at before the id.
_TIE_BREAKERS: dict[str, tuple[str, ...]] = {
    "offline": ("username", "id"),
    "expires_at": ("offline", "client_ids_text", "user_id", "id"),
    "username": ("ip_address", "client_ids_text", "offline", "expires_at", "id"),
    "last_access_at": ("offline", "expires_at", "id"),
    "client_ids_text": ("offline", "expires_at", "id"),
}
_DEFAULT_TIE_BREAKERS = ("offline", "id")


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
        # From now: a live session's expiry is after it, and the range then skips the ended.
        bound = now + timedelta(seconds=filters.expiring_within_s)
        where &= Q(expires_at__gt=now, expires_at__lte=bound)
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


# Up to this many ended sessions, a walk tests each entry's id against them; with more (an
# online-heavy realm minutes after its refresh: at 1,000,000 sessions with a 30-minute idle
# timeout, 300,000 end within the schedule's five minutes), reading them all per query costs
# more than reading each walked entry's expiry, which the last-access, client, user and
# expires indexes hold (migration 0011): the test then stays inside those.
LIVE_BY_IDS_MAX = 1000


def _live_q(realm: str, now: datetime, *, sort: str = "") -> Q:
    """Sessions still live at `now`: `expires_at > now OR expires_at IS NULL`. While few have
    ended, written as `id NOT IN (the ended range)`: the ended range is read once from the
    expires index and each candidate's row id tested against it, so a walk of a sort index
    or a search index stays inside that index; the OR form reads a table row per walked
    entry, as only the expires index holds expires_at. With many ended, the OR form, or
    `expires_at > now` alone for a walk in `sort` order by expiry when no session of the
    realm has an unknown expiry."""
    ended = _ended(realm, now).order_by().values("id")
    if not ended[LIVE_BY_IDS_MAX : LIVE_BY_IDS_MAX + 1].exists():
        return ~Q(id__in=ended)
    live = Q(expires_at__gt=now)
    if sort_order(sort)[0].removeprefix("-") != "expires_at":
        # Not as a range in another order: SQLite would then read the live range of the
        # expires index and sort it (seconds at 1,000,000) rather than walk the sort index.
        return live | Q(expires_at__isnull=True)
    if IndexedSession.objects.filter(realm=realm, expires_at__isnull=True).exists():
        return live | Q(expires_at__isnull=True)
    # By expiry with no unknown expiry in the realm (the usual case): the same test as one
    # range, which the walk seeks past the ended entries with (the OR form walks every ended
    # entry first: 300,000 at 1,000,000 sessions five minutes after a refresh).
    return live


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
        .filter(_live_q(realm, now, sort=filters.sort))
        .order_by(*sort_order(filters.sort))
    )


def sort_order(sort: str) -> list[str]:
    """ORDER BY terms for a sort key like "-started": the column, then the type and the id, in
    the order of the (realm, column, offline) index, so the walk needs no sort step."""
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    column = SORT_COLUMNS.get(key, SORT_COLUMNS["last_access"])[1]
    prefix = "-" if descending else ""
    ties = _TIE_BREAKERS.get(column, _DEFAULT_TIE_BREAKERS)
    return [f"{prefix}{name}" for name in (column, *ties)]


@dataclass(frozen=True)
class SessionCounts:
    total: int
    online: int
    offline: int
    # True: counting stopped at `total` (selectors_count.py); more match than that, and
    # online/offline split only what was counted. The page says "more than {total}".
    capped: bool = False


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


def realm_totals_select(*, realm: str, now: datetime) -> tuple[SessionCounts, SessionCounts]:
    """The realm's live sessions and those that ended since the last refresh, by type: what
    the page's freshness line, cards and unfiltered table count, all from one `now`."""
    kept = RealmFigures.objects.filter(realm=realm).first()
    if kept is not None:
        online, offline = kept.online, kept.offline
        ended = _ended_counts(realm_figures_ended(kept, realm=realm, now=now))
    else:
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


def _ended_counts(ended: dict[tuple[str, bool], int]) -> SessionCounts:
    offline = sum(n for (_text, is_offline), n in ended.items() if is_offline)
    total = sum(ended.values())
    return SessionCounts(total=total, online=total - offline, offline=offline)


@dataclass(frozen=True)
class ClientCount:
    client_uuid: str
    client_id: str
    sessions: int


def realm_figures_select(*, realm: str, now: datetime) -> tuple[SessionSummary, list[ClientCount]]:
    """The sessions page's cards, expiry chart and client counts for the realm's live
    sessions at `now`: from the figures kept with the index (figures.py), or counted in the
    rows when none are kept (a refresh is writing, or none finished since)."""
    live = realm_figures_live_select(realm=realm, now=now)
    if live is None:
        rows = IndexedSession.objects.filter(realm=realm)
        summary = sessions_summary_select(sessions=rows, now=now)
        return summary, indexed_clients_select(realm=realm, now=now)
    summary = SessionSummary(
        total=live.online + live.offline,
        online=live.online,
        offline=live.offline,
        expiring_within_1h=live.expiry_histogram[0][1],
        distinct_users=live.users,
        expiry_histogram=live.expiry_histogram,
    )
    clients = (ClientCount(uuid, client_id, n) for (uuid, client_id), n in live.clients.items())
    return summary, sorted(clients, key=lambda c: (-c.sessions, c.client_id.lower()))


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


def _realm_counts(sessions: QuerySet[IndexedSession]) -> dict[str, dict[str, Any]]:
    return {
        row["realm"]: dict(row)
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
    counts: dict[str, dict[str, Any]] = {}
    ended: dict[str, dict[str, Any]] = {}
    for kept in RealmFigures.objects.filter(realm__in=names):
        counts[kept.realm] = {"total": kept.online + kept.offline, "offline": kept.offline}
        gone = _ended_counts(realm_figures_ended(kept, realm=kept.realm, now=now))
        ended[kept.realm] = {"total": gone.total, "offline": gone.offline}
    uncounted = [name for name in names if name not in counts]
    if uncounted:  # no figures kept: count the rows
        counts.update(_realm_counts(IndexedSession.objects.filter(realm__in=uncounted)))
        rows = IndexedSession.objects.filter(realm__in=uncounted, expires_at__lte=now)
        ended.update(_realm_counts(rows))
    found: list[IndexedRealm] = []
    for name in names:
        total = counts.get(name, {}).get("total", 0)
        offline = counts.get(name, {}).get("offline", 0)
        ended_total = ended.get(name, {}).get("total", 0)
        ended_offline = ended.get(name, {}).get("offline", 0)
        found.append(
            IndexedRealm(
                realm=name,
                index=indexes.get(name),
                sessions=total - ended_total,
                offline=offline - ended_offline,
                ended=ended_total,
            )
        )
    return found


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
