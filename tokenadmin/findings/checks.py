"""The checks: plain reads of a realm's index, each giving the findings it sees now.

Each check reads only live rows (an ended session is no longer a risk) and groups by user, so
a finding names one user and the sessions behind it, ready for the revocation preview.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

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


def _sessions_of(
    rows: QuerySet[IndexedSession], user_ids: set[str]
) -> tuple[dict[str, list[str]], dict[str, str], dict[str, set[str]]]:
    """For these users: their session keys, usernames and addresses, in one read."""
    keys: dict[str, list[str]] = defaultdict(list)
    names: dict[str, str] = {}
    addresses: dict[str, set[str]] = defaultdict(set)
    if not user_ids:
        return keys, names, addresses
    fields = ("user_id", "username", "session_id", "offline", "ip_address")
    for user_id, username, session_id, offline, ip in (
        rows.filter(user_id__in=user_ids).order_by("started_at", "id").values_list(*fields)
    ):
        keys[user_id].append(_key(session_id, offline))
        names[user_id] = username
        if ip:
            addresses[user_id].add(ip)
    return keys, names, addresses


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


def many_sessions_check(*, realm: str, thresholds: RealmThresholds, now: datetime) -> list[Seen]:
    limit = thresholds.max_sessions_per_user
    online = _live(realm, now).filter(offline=False)
    counts = dict(
        online.order_by()
        .values_list("user_id")
        .annotate(n=Count("id"))
        .filter(n__gt=limit)
        .values_list("user_id", "n")
    )
    keys, names, _ = _sessions_of(online, set(counts))
    return [
        Seen(
            kind=Kind.MANY_SESSIONS,
            subject=user_id,
            subject_label=names.get(user_id, user_id),
            severity=_severity(n, limit),
            explanation=(
                f"{names.get(user_id, user_id)} has {n} concurrent sessions (more than {limit}). "
                "A person rarely needs that many; a leaked password or a script logging in "
                "over and over often does."
            ),
            sessions=keys[user_id],
        )
        for user_id, n in counts.items()
    ]


def many_addresses_check(*, realm: str, thresholds: RealmThresholds, now: datetime) -> list[Seen]:
    limit = thresholds.max_addresses_per_user
    live = _live(realm, now)
    counts = dict(
        live.exclude(ip_address="")
        .order_by()
        .values_list("user_id")
        .annotate(n=Count("ip_address", distinct=True))
        .filter(n__gt=limit)
        .values_list("user_id", "n")
    )
    keys, names, _ = _sessions_of(live, set(counts))
    return [
        Seen(
            kind=Kind.MANY_ADDRESSES,
            subject=user_id,
            subject_label=names.get(user_id, user_id),
            severity=_severity(n, limit),
            explanation=(
                f"{names.get(user_id, user_id)} has sessions from {n} different addresses "
                f"(more than {limit}). Sessions spread over many networks can mean a shared "
                "or stolen account."
            ),
            sessions=keys[user_id],
        )
        for user_id, n in counts.items()
    ]


def disabled_users_check(*, realm: str, disabled: dict[str, str], now: datetime) -> list[Seen]:
    """Live sessions of the users Keycloak lists as disabled ({user id: username})."""
    keys, names, _ = _sessions_of(_live(realm, now), set(disabled))
    found = []
    for user_id, user_keys in keys.items():
        offline = sum(1 for k in user_keys if k.endswith(":offline"))
        name = names.get(user_id) or disabled[user_id]
        found.append(
            Seen(
                kind=Kind.DISABLED_USER,
                subject=user_id,
                subject_label=name,
                severity=Severity.HIGH,
                explanation=(
                    f"{name} is disabled in Keycloak but still holds {len(user_keys)} "
                    f"session(s), {offline} of them offline. Disabling a user does not end its "
                    "sessions in Keycloak's list; revoke them so none is used again if the user "
                    "is enabled again."
                ),
                sessions=user_keys,
            )
        )
    return found


# The checks that read only the index; the disabled-users check also needs Keycloak.
CHECKS = (offline_idle_check, many_sessions_check, many_addresses_check)
