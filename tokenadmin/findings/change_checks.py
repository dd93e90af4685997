"""Checks against what changed in Keycloak after a session began: the user's password or
credential (user and admin events), the client (disabled, or its secret regenerated).

Keycloak ends none of these sessions by itself: offline sessions in particular survive a
password reset and a secret rotation. Each check reads only the sessions it may concern.
"""

from collections import defaultdict
from datetime import UTC, datetime

from django.db.models import Min

from tokenadmin.keycloak.types import CredentialChange, KcClient

from .checks import Seen, _key, _live
from .models import Kind, Severity

CHUNK = 500
HOW = {
    "UPDATE_PASSWORD": "changed their password",
    "UPDATE_CREDENTIAL": "changed a credential",
    "RESET_PASSWORD": "reset their forgotten password",
    "ADMIN_RESET_PASSWORD": "had their password reset by an admin",
}


def oldest_live_start(*, realm: str, now: datetime) -> datetime | None:
    """When the oldest live session began: events before it concern no live session."""
    return _live(realm, now).aggregate(at=Min("started_at"))["at"]


def _latest(changes: list[CredentialChange]) -> dict[str, CredentialChange]:
    latest: dict[str, CredentialChange] = {}
    for change in changes:
        held = latest.get(change.user_id)
        if held is None or change.at > held.at:
            latest[change.user_id] = change
    return latest


def _whole_second(at: datetime) -> datetime:
    # Session starts are whole seconds: a login in the same second as the change is not older.
    return at.replace(microsecond=0)


def credential_changed_check(
    *, realm: str, changes: list[CredentialChange], now: datetime
) -> list[Seen]:
    """Live sessions (offline ones included) that began before their user's latest credential
    change."""
    latest = _latest(changes)
    older: dict[str, list[tuple[datetime, int, str, bool]]] = defaultdict(list)
    names: dict[str, str] = {}
    users = sorted(latest)
    fields = ("user_id", "username", "started_at", "id", "session_id", "offline")
    for at in range(0, len(users), CHUNK):
        # Unordered in SQL, so the read walks the (realm, user) index for these users only; an
        # ORDER BY started_at walked the whole realm in start order instead (8x slower).
        rows = _live(realm, now).filter(user_id__in=users[at : at + CHUNK]).order_by()
        for user_id, username, started, row_id, session_id, offline in rows.values_list(*fields):
            if started < _whole_second(latest[user_id].at):
                older[user_id].append((started, row_id, session_id, offline))
                names[user_id] = username
    found = []
    for user_id, rows_of_user in older.items():
        # In start order, as the revocation preview lists them.
        sessions = [(session_id, offline) for _, _, session_id, offline in sorted(rows_of_user)]
        change, name = latest[user_id], names[user_id]
        n_offline = sum(1 for _, is_offline in sessions if is_offline)
        found.append(
            Seen(
                kind=Kind.CREDENTIAL_CHANGED,
                subject=user_id,
                subject_label=name,
                severity=Severity.HIGH,
                explanation=(
                    f"{name} {HOW.get(change.how, 'changed a credential')} on "
                    f"{change.at:%Y-%m-%d %H:%M} UTC, but {len(sessions)} session(s) begun "
                    f"before it are still live, {n_offline} of them offline. Keycloak keeps "
                    "them after a password change; whoever held the old password may hold "
                    "them. Revoke them."
                ),
                sessions=[_key(session_id, offline) for session_id, offline in sessions],
            )
        )
    return found


def _client_sessions(
    *, realm: str, client_id: str, now: datetime, before: datetime | None = None
) -> list[tuple[str, bool]]:
    rows = _live(realm, now).filter(client_ids_text__contains=f" {client_id} ")
    if before is not None:
        rows = rows.filter(started_at__lt=before)
    return list(rows.order_by("started_at", "id").values_list("session_id", "offline"))


def _client_seen(
    kind: str, client: KcClient, sessions: list[tuple[str, bool]], explanation: str
) -> Seen:
    return Seen(
        kind=kind,
        subject=client.uuid,
        subject_label=client.client_id,
        severity=Severity.HIGH if kind == Kind.SECRET_ROTATED else Severity.MEDIUM,
        explanation=explanation,
        sessions=[_key(session_id, offline) for session_id, offline in sessions],
    )


def secret_created_at(client: KcClient) -> datetime | None:
    """When the client's secret was made: Keycloak keeps `client.secret.creation.time` (epoch
    seconds) when it generates one, at creation and at each regeneration."""
    text = client.attributes.get("client.secret.creation.time", "")
    try:
        return datetime.fromtimestamp(int(text), tz=UTC) if text else None
    except (ValueError, OverflowError, OSError):
        return None


def client_checks(*, realm: str, clients: list[KcClient], now: datetime) -> list[Seen]:
    """Sessions of disabled clients, and sessions that began before their confidential
    client's secret was regenerated."""
    found = []
    for client in clients:
        if not client.enabled:
            sessions = _client_sessions(realm=realm, client_id=client.client_id, now=now)
            if sessions:
                found.append(
                    _client_seen(
                        Kind.CLIENT_DISABLED,
                        client,
                        sessions,
                        f"The client {client.client_id} is disabled but {len(sessions)} "
                        "session(s) that signed in through it are still live. Keycloak keeps "
                        "them; if the client is enabled again, their refresh tokens work "
                        "again. Revoke them.",
                    )
                )
            continue
        created = secret_created_at(client)
        if client.public or created is None:
            continue
        sessions = _client_sessions(
            realm=realm, client_id=client.client_id, now=now, before=created
        )
        if sessions:
            found.append(
                _client_seen(
                    Kind.SECRET_ROTATED,
                    client,
                    sessions,
                    f"The secret of {client.client_id} was regenerated on "
                    f"{created:%Y-%m-%d %H:%M} UTC, but {len(sessions)} session(s) begun "
                    "before it are still live. A secret is rotated when it may have leaked; "
                    "tokens issued with the old one stay valid until these sessions end.",
                )
            )
    return found
