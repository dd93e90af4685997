"""The checks: plain reads of a realm's index, each giving the findings it sees now.

Each check reads only live rows (an ended session is no longer a risk) and groups by user, so
a finding names one user and the sessions behind it, ready for the revocation preview.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, Q, QuerySet

from tokenadmin.sessionindex.models import IndexedSession

from .models import Kind, RealmThresholds, Severity


@dataclass(frozen=True)
class Seen:
    """One finding as a check sees it now."""

    kind: str
    subject: str
    subject_label: str
    severity: str
    explanation: str
    sessions: list[str] = field(default_factory=list)


def _live(realm: str, now: datetime) -> QuerySet[IndexedSession]:
    return IndexedSession.objects.filter(realm=realm).filter(
        Q(expires_at__gt=now) | Q(expires_at__isnull=True)
    )


def _key(session_id: str, offline: bool) -> str:
    return f"{session_id}:offline" if offline else session_id


class LiveSession(NamedTuple):
    username: str
    key: str  # "<id>" or "<id>:offline", as the revocation preview takes it
    offline: bool
    ip: str


def live_users_read(*, realm: str, now: datetime) -> set[str]:
    """The users holding a live session, read inside the (realm, user, expiry) index."""
    users = _live(realm, now).order_by().values_list("user_id", flat=True).distinct()
    return set(users)


def users_over_read(*, realm: str, now: datetime, thresholds: RealmThresholds) -> set[str]:
    """The users over the session or the address threshold, counted per user in SQL: only
    their sessions are read into Python (most users of a realm are under both)."""
    counts = (
        _live(realm, now)
        .order_by()
        .values("user_id")
        .annotate(
            online=Count("id", filter=Q(offline=False)),
            addresses=Count("ip_address", distinct=True, filter=~Q(ip_address="")),
        )
        .filter(
            Q(online__gt=thresholds.max_sessions_per_user)
            | Q(addresses__gt=thresholds.max_addresses_per_user)
        )
    )
    return set(counts.values_list("user_id", flat=True))


# Users per `user_id IN (...)` read: under every backend's limit on query parameters.
USERS_PER_READ = 2000


def live_sessions_read(
    *, realm: str, now: datetime, users: set[str]
) -> dict[str, list[LiveSession]]:
    """The live sessions of these users, each user's in row order, read as text columns only
    (no datetime to convert): the per-user checks count in Python over them."""
    rows_of: dict[str, list[tuple[int, str, str, bool, str]]] = defaultdict(list)
    fields = ("user_id", "id", "username", "session_id", "offline", "ip_address")
    ordered = sorted(users)
    with connection.cursor() as cursor:
        for at in range(0, len(ordered), USERS_PER_READ):
            rows = _live(realm, now).filter(user_id__in=ordered[at : at + USERS_PER_READ])
            # Raw rows from the ORM's own SQL (Django's per-value converters cost more than
            # the read), unordered: an ORDER BY id sorted every row in SQL (3x slower), while
            # each user's few are sorted here.
            sql, params = rows.order_by().values_list(*fields).query.sql_with_params()
            cursor.execute(sql, params)
            for user_id, *row in cursor.fetchall():
                rows_of[user_id].append(tuple(row))
    return {
        user_id: [
            LiveSession(username, _key(session_id, bool(offline)), bool(offline), ip or "")
            for _, username, session_id, offline, ip in sorted(rows)
        ]
        for user_id, rows in rows_of.items()
    }


def offline_idle_check(*, realm: str, thresholds: RealmThresholds, now: datetime) -> list[Seen]:
    days = thresholds.offline_idle_days
    idle = _live(realm, now).filter(offline=True, last_access_at__lt=now - timedelta(days=days))
    by_user: dict[str, list[str]] = defaultdict(list)
    names: dict[str, str] = {}
    for user_id, username, session_id in idle.order_by("last_access_at", "id").values_list(
        "user_id", "username", "session_id"
    ):
        by_user[user_id].append(_key(session_id, True))
        names[user_id] = username
    return [
        Seen(
            kind=Kind.OFFLINE_IDLE,
            subject=user_id,
            subject_label=names[user_id],
            severity=Severity.MEDIUM,
            explanation=(
                f"{names[user_id]} holds {len(keys)} offline session(s) unused for more than "
                f"{days} days. An offline token nobody uses is a standing credential; "
                "revoking it costs the user nothing."
            ),
            sessions=keys,
        )
        for user_id, keys in by_user.items()
    ]


def _severity(count: int, limit: int) -> str:
    return Severity.HIGH if count > 2 * limit else Severity.MEDIUM


def many_sessions_check(
    *, live: dict[str, list[LiveSession]], thresholds: RealmThresholds
) -> list[Seen]:
    limit = thresholds.max_sessions_per_user
    found = []
    for user_id, sessions in live.items():
        online = [s for s in sessions if not s.offline]
        if len(online) <= limit:
            continue
        name = online[0].username
        found.append(
            Seen(
                kind=Kind.MANY_SESSIONS,
                subject=user_id,
                subject_label=name,
                severity=_severity(len(online), limit),
                explanation=(
                    f"{name} has {len(online)} concurrent sessions (more than {limit}). A "
                    "person rarely needs that many; a leaked password or a script logging in "
                    "over and over often does."
                ),
                sessions=[s.key for s in online],
            )
        )
    return found


def many_addresses_check(
    *, live: dict[str, list[LiveSession]], thresholds: RealmThresholds
) -> list[Seen]:
    limit = thresholds.max_addresses_per_user
    found = []
    for user_id, sessions in live.items():
        n = len({s.ip for s in sessions if s.ip})
        if n <= limit:
            continue
        name = sessions[0].username
        found.append(
            Seen(
                kind=Kind.MANY_ADDRESSES,
                subject=user_id,
                subject_label=name,
                severity=_severity(n, limit),
                explanation=(
                    f"{name} has sessions from {n} different addresses (more than {limit}). "
                    "Sessions spread over many networks can mean a shared or stolen account."
                ),
                sessions=[s.key for s in sessions],
            )
        )
    return found


def disabled_users_check(
    *, live: dict[str, list[LiveSession]], disabled: dict[str, str]
) -> list[Seen]:
    """Live sessions of the users Keycloak lists as disabled ({user id: username})."""
    found = []
    for user_id in disabled.keys() & live.keys():
        sessions = live[user_id]
        offline = sum(1 for s in sessions if s.offline)
        name = sessions[0].username or disabled[user_id]
        found.append(
            Seen(
                kind=Kind.DISABLED_USER,
                subject=user_id,
                subject_label=name,
                severity=Severity.HIGH,
                explanation=(
                    f"{name} is disabled in Keycloak but still holds {len(sessions)} "
                    f"session(s), {offline} of them offline. Disabling a user does not end its "
                    "sessions in Keycloak's list; revoke them so none is used again if the user "
                    "is enabled again."
                ),
                sessions=[s.key for s in sessions],
            )
        )
    return found


def missing_users_check(*, live: dict[str, list[LiveSession]], missing: set[str]) -> list[Seen]:
    """Live sessions of the users Keycloak no longer has."""
    found = []
    for user_id in missing & live.keys():
        sessions = live[user_id]
        offline = sum(1 for s in sessions if s.offline)
        name = sessions[0].username or user_id
        found.append(
            Seen(
                kind=Kind.MISSING_USER,
                subject=user_id,
                subject_label=name,
                severity=Severity.HIGH,
                explanation=(
                    f"{name} no longer exists in Keycloak but {len(sessions)} of its "
                    f"session(s) were still listed at the last refresh, {offline} of them "
                    "offline. A user removed at its identity provider or user federation can "
                    "keep sessions that nobody owns any more; revoke them."
                ),
                sessions=[s.key for s in sessions],
            )
        )
    return found
