"""Reads over the local session index: one filter definition for the sessions page, its CSV,
saved views, and the reports and bulk revocation that reuse them. Nothing here calls Keycloak."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import ceil

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from tokenadmin.accounts.models import User
from tokenadmin.keycloak import Gateway
from tokenadmin.keycloak.types import Consent, KcClient, KcSession, KcUser

from .forms import SORT_COLUMNS, SessionFilters, SessionType, filters_from_query
from .models import IndexedSession, RealmIndex, SavedView

# Tie-breakers after the sorted column, chosen so that each sort walks one index:
# every (realm, X) index ends in the row id, and (realm, offline, username) serves "type".
_TIE_BREAKERS: dict[str, tuple[str, ...]] = {"offline": ("username", "id")}

# Expiry histogram buckets: (label, upper bound in seconds from now, exclusive of the previous).
EXPIRY_BUCKETS: tuple[tuple[str, int], ...] = (
    ("≤ 1 h", 3600),
    ("1-6 h", 6 * 3600),
    ("6-24 h", 86400),
    ("1-7 d", 7 * 86400),
    ("7-30 d", 30 * 86400),
)


def indexed_sessions_select(
    *, realm: str, filters: SessionFilters, now: datetime | None = None
) -> QuerySet[IndexedSession]:
    """The realm's indexed sessions matching `filters`, in the filter's sort order.

    Search is case-insensitive over username, IP and clientIds; durations count back (idle,
    age) or forward (expiry) from `now`.
    """
    now = now or timezone.now()
    sessions = IndexedSession.objects.filter(realm=realm)
    if filters.type == SessionType.REGULAR:
        sessions = sessions.filter(offline=False)
    elif filters.type == SessionType.OFFLINE:
        sessions = sessions.filter(offline=True)
    if filters.q:
        sessions = sessions.filter(
            Q(username__icontains=filters.q)
            | Q(ip_address__icontains=filters.q)
            | Q(client_ids_text__icontains=filters.q)
        )
    if filters.client:
        # client_ids_text is " a b c " so a space on each side matches whole clientIds only.
        sessions = sessions.filter(client_ids_text__contains=f" {filters.client} ")
    if filters.expiring_within_s is not None:
        horizon = now + timedelta(seconds=filters.expiring_within_s)
        sessions = sessions.filter(expires_at__lte=horizon)
    if filters.idle_over_s is not None:
        sessions = sessions.filter(last_access_at__lt=now - timedelta(seconds=filters.idle_over_s))
    if filters.older_than_s is not None:
        sessions = sessions.filter(started_at__lt=now - timedelta(seconds=filters.older_than_s))
    return sessions.order_by(*sort_order(filters.sort))


def sort_order(sort: str) -> list[str]:
    """ORDER BY terms for a sort key like "-started": the column, then stable tie-breakers."""
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    column = SORT_COLUMNS.get(key, SORT_COLUMNS["last_access"])[1]
    prefix = "-" if descending else ""
    return [f"{prefix}{name}" for name in (column, *_TIE_BREAKERS.get(column, ("id",)))]


@dataclass(frozen=True)
class SessionSummary:
    total: int
    online: int
    offline: int
    expiring_within_1h: int
    distinct_users: int
    # [(bucket label, sessions)], soonest first; "expired" first and "unknown" last when any.
    expiry_histogram: list[tuple[str, int]] = field(default_factory=list)


def sessions_summary_select(
    *, sessions: QuerySet[IndexedSession], now: datetime | None = None
) -> SessionSummary:
    """Totals for the summary cards and the expiry chart, in one aggregate query."""
    now = now or timezone.now()
    counts: dict[str, Count] = {
        "total": Count("id"),
        "offline": Count("id", filter=Q(offline=True)),
        "users": Count("user_id", distinct=True),
        "expired": Count("id", filter=Q(expires_at__lte=now)),
        "unknown": Count("id", filter=Q(expires_at__isnull=True)),
    }
    for index, (_label, bound_s) in enumerate(EXPIRY_BUCKETS):
        counts[f"b{index}"] = Count(
            "id", filter=Q(expires_at__gt=now, expires_at__lte=now + timedelta(seconds=bound_s))
        )
    row = sessions.order_by().aggregate(**counts)
    # Cumulative counts become per-bucket counts.
    histogram: list[tuple[str, int]] = []
    if row["expired"]:
        histogram.append(("expired", row["expired"]))
    previous = 0
    for index, (label, _bound_s) in enumerate(EXPIRY_BUCKETS):
        histogram.append((label, row[f"b{index}"] - previous))
        previous = row[f"b{index}"]
    histogram.append(("> 30 d", row["total"] - row["expired"] - row["unknown"] - previous))
    if row["unknown"]:
        histogram.append(("unknown", row["unknown"]))
    return SessionSummary(
        total=row["total"],
        online=row["total"] - row["offline"],
        offline=row["offline"],
        # Already expired but still listed: Keycloak drops those any moment, so they count.
        expiring_within_1h=row["expired"] + row["b0"],
        distinct_users=row["users"],
        expiry_histogram=histogram,
    )


@dataclass(frozen=True)
class SessionRow:
    """One table row: the indexed session plus what the page shows about it."""

    session: IndexedSession
    expires_in_s: int | None
    is_mine: bool
    clients: list[tuple[str, str]]  # [(client uuid, clientId)] by clientId


@dataclass(frozen=True)
class SessionPage:
    rows: list[SessionRow]
    total: int
    number: int
    per_page: int

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


def sessions_page_select(
    *,
    sessions: QuerySet[IndexedSession],
    total: int,
    number: int,
    per_page: int,
    my_session_id: str = "",
    now: datetime | None = None,
) -> SessionPage:
    """One page of `sessions` (total counted by the caller, usually from the summary).

    A page past the end shows the last page, as a shared link to a shrunken set should.
    """
    now = now or timezone.now()
    number = min(max(1, number), max(1, ceil(total / per_page)))
    start = (number - 1) * per_page
    rows = [
        SessionRow(
            session=session,
            expires_in_s=int((session.expires_at - now).total_seconds())
            if session.expires_at
            else None,
            is_mine=bool(my_session_id) and session.session_id == my_session_id,
            clients=sorted(session.clients.items(), key=lambda item: item[1].lower()),
        )
        for session in sessions[start : start + per_page]
    ]
    return SessionPage(rows=rows, total=total, number=number, per_page=per_page)


@dataclass(frozen=True)
class ClientCount:
    client_uuid: str
    client_id: str
    sessions: int


def indexed_clients_select(*, realm: str) -> list[ClientCount]:
    """Every client the realm's indexed sessions hold, with how many sessions hold it.

    Grouped by the clients map: a realm has few distinct client combinations, so this is one
    grouped scan rather than one count per client.
    """
    totals: dict[tuple[str, str], int] = {}
    combos = (
        IndexedSession.objects.filter(realm=realm)
        .values("clients")
        .annotate(n=Count("id"))
        .order_by()
    )
    for combo in combos:
        for uuid, client_id in (combo["clients"] or {}).items():
            totals[(uuid, client_id)] = totals.get((uuid, client_id), 0) + combo["n"]
    return sorted(
        (ClientCount(uuid, client_id, n) for (uuid, client_id), n in totals.items()),
        key=lambda c: (-c.sessions, c.client_id.lower()),
    )


@dataclass(frozen=True)
class IndexedRealm:
    realm: str
    index: RealmIndex | None
    sessions: int
    offline: int

    @property
    def regular(self) -> int:
        return self.sessions - self.offline

    @property
    def indexed(self) -> bool:
        return bool(self.sessions or (self.index and self.index.refreshed_at))


def indexed_realms_select(*, realms: Iterable[str]) -> list[IndexedRealm]:
    """The given realms with their indexed session counts and freshness, in the given order."""
    names = list(realms)
    indexes = {ri.realm: ri for ri in RealmIndex.objects.filter(realm__in=names)}
    counts = {
        row["realm"]: row
        for row in IndexedSession.objects.filter(realm__in=names)
        .values("realm")
        .annotate(total=Count("id"), offline=Count("id", filter=Q(offline=True)))
        .order_by()
    }
    return [
        IndexedRealm(
            realm=name,
            index=indexes.get(name),
            sessions=counts.get(name, {}).get("total", 0),
            offline=counts.get(name, {}).get("offline", 0),
        )
        for name in names
    ]


def realm_index_get(*, realm: str) -> RealmIndex | None:
    return RealmIndex.objects.filter(realm=realm).first()


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
