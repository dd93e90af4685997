"""The checks: plain reads of a realm's index, each giving the findings it sees now.

Each check reads only live rows (an ended session is no longer a risk) and groups by user, so
a finding names one user and the sessions behind it, ready for the revocation preview.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Q, QuerySet

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


@dataclass(frozen=True)
class LiveSession:
    username: str
    key: str  # "<id>" or "<id>:offline", as the revocation preview takes it
    offline: bool
    ip: str


def live_by_user_read(*, realm: str, now: datetime) -> dict[str, list[LiveSession]]:
    """Every live session of the realm grouped by user, in one read of text columns only (no
    datetime to convert): the per-user checks count in Python over it. At 100,000 sessions
    this is cheaper than a GROUP BY per check followed by a `user_id IN (thousands)` read."""
    by_user: dict[str, list[LiveSession]] = defaultdict(list)
    fields = ("user_id", "username", "session_id", "offline", "ip_address")
    # Raw rows from the ORM's own SQL: Django's per-value converters cost more than the read.
    sql, params = _live(realm, now).order_by("id").values_list(*fields).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(5000):
            for user_id, username, session_id, offline, ip in rows:
                key = _key(session_id, bool(offline))
                by_user[user_id].append(LiveSession(username, key, bool(offline), ip or ""))
    return by_user


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
