"""Revokes of one target in a user: a session, an offline session, the user, a consent.

Each function re-reads the live state from Keycloak first, makes one change, and writes one
ledger entry once Keycloak has answered (a refused or failed call is recorded too, as FAILED).
Revokes that reach a whole realm or client are in `realmwide.py`; bulk work (many sessions)
goes through `bulk.py` and `jobs.py`.
"""

from django.conf import settings

from tokenadmin.accounts.models import User
from tokenadmin.keycloak import Gateway
from tokenadmin.keycloak.types import KcSession
from tokenadmin.ledger.models import Action
from tokenadmin.ledger.services import LedgerDraft, ledger_entry_record
from tokenadmin.sessionindex.forget import indexed_sessions_forget, indexed_user_sessions_forget

from .outcomes import (
    OWN_CONSENT_REFUSED,
    OWN_SESSION_REFUSED,
    OWN_USER_REFUSED,
    RevocationRefused,
    RevokeOutcome,
    session_snapshot,
)
from .recording import delete_unless_gone, failure_recorded, is_login_realm
from .residual import residual_risk_for

OFFLINE_STALE_NOTE = (
    "Offline sessions stay listed in Keycloak but can no longer be refreshed (Stale token); "
    "revoke them one by one, or per client, to remove them."
)


def _find_session(sessions: list[KcSession], session_id: str) -> KcSession | None:
    return next((s for s in sessions if s.id == session_id), None)


def session_revoke(
    *,
    admin: Gateway,
    realm: str,
    user_id: str,
    session_id: str,
    actor: User,
    own_session_id: str = "",
    reason: str = "",
    ticket: str = "",
) -> RevokeOutcome:
    """Sign out one online session (DELETE sessions/{id}); its offline twin is kept."""
    if own_session_id and session_id == own_session_id:
        raise RevocationRefused(OWN_SESSION_REFUSED)
    session = _find_session(admin.user_sessions(realm, user_id), session_id)
    entry = LedgerDraft(
        actor=actor,
        action=Action.SESSION_REVOKED,
        realm=realm,
        target_type="session",
        target_id=session_id,
        target_label=f"{session.username} from {session.ip_address}" if session else session_id,
        reason=reason,
        ticket=ticket,
        before=session_snapshot(session) if session else None,
    )
    return _session_delete(
        admin=admin,
        entry=entry,
        session=session,
        offline=False,
        after_key="signed_out",
        titles=("Session signed out", "Session already gone"),
    )


def _session_delete(
    *,
    admin: Gateway,
    entry: LedgerDraft,
    session: KcSession | None,
    offline: bool,
    after_key: str,
    titles: tuple[str, str],
    notes: list[str] | None = None,
) -> RevokeOutcome:
    """DELETE one (offline) session unless it is gone, drop it from the index, say what is left.

    `titles` is (done, already gone); `notes` are shown only when the delete happened.
    """
    realm, session_id = entry.realm, entry.target_id
    gone, ledger = delete_unless_gone(
        entry,
        (lambda: admin.session_delete(realm, session_id, offline=offline)) if session else None,
        after_key=after_key,
    )
    indexed_sessions_forget(realm=realm, session_ids=[session_id], offline=offline)
    clients = session.clients.values() if session else None
    return RevokeOutcome(
        title=titles[1] if gone else titles[0],
        realm=realm,
        target_label=entry.target_label,
        already_gone=gone,
        residual_risk=residual_risk_for(admin=admin, realm=realm, client_ids=clients),
        notes=[] if gone else list(notes or []),
        ledger_entry_id=ledger.pk,
    )


def _offline_session_find(
    admin: Gateway, realm: str, user_id: str, session_id: str
) -> KcSession | None:
    """Keycloak lists a user's offline sessions per client; consents say which clients hold one."""
    holders = {c.client_id for c in admin.user_consents(realm, user_id) if c.offline_token}
    if not holders:
        return None
    for client in admin.clients_list(realm):
        if client.client_id in holders:
            found = _find_session(
                admin.user_offline_sessions(realm, user_id, client.uuid), session_id
            )
            if found is not None:
                return found
    return None


def offline_session_revoke(
    *,
    admin: Gateway,
    realm: str,
    user_id: str,
    session_id: str,
    actor: User,
    own_session_id: str = "",
    reason: str = "",
    ticket: str = "",
) -> RevokeOutcome:
    """Revoke one offline session (DELETE sessions/{id}?isOffline=true).

    Keycloak drops the session's online twin with it, so the admin's own id is refused here too.
    """
    if own_session_id and session_id == own_session_id:
        raise RevocationRefused(OWN_SESSION_REFUSED)
    session = _offline_session_find(admin, realm, user_id, session_id)
    entry = LedgerDraft(
        actor=actor,
        action=Action.OFFLINE_SESSION_REVOKED,
        realm=realm,
        target_type="offline_session",
        target_id=session_id,
        target_label=(
            f"{session.username}: offline token of {', '.join(sorted(session.clients.values()))}"
            if session
            else session_id
        ),
        reason=reason,
        ticket=ticket,
        before=session_snapshot(session) if session else None,
    )
    return _session_delete(
        admin=admin,
        entry=entry,
        session=session,
        offline=True,
        after_key="revoked",
        titles=("Offline session revoked", "Offline session already gone"),
        notes=["Its online twin, if it had one, was signed out with it."],
    )


def user_sign_out(
    *,
    admin: Gateway,
    realm: str,
    user_id: str,
    actor: User,
    reason: str = "",
    ticket: str = "",
) -> RevokeOutcome:
    """Sign a user out everywhere (POST users/{id}/logout): online sessions end, and the user's
    not-before makes every older refresh token, offline ones included, fail."""
    if is_login_realm(realm) and user_id == actor.keycloak_sub:
        raise RevocationRefused(OWN_USER_REFUSED)
    user = admin.user_get(realm, user_id)
    sessions = admin.user_sessions(realm, user_id)
    entry = LedgerDraft(
        actor=actor,
        action=Action.USER_SIGNED_OUT,
        realm=realm,
        target_type="user",
        target_id=user_id,
        target_label=user.username,
        reason=reason,
        ticket=ticket,
        before={
            "username": user.username,
            "online_sessions": [session_snapshot(s) for s in sessions],
        },
    )
    with failure_recorded(entry):
        admin.user_logout(realm, user_id)
    ledger = ledger_entry_record(
        entry, after={"online_sessions_ended": len(sessions), "user_not_before": "now"}
    )
    indexed_user_sessions_forget(realm=realm, user_id=user_id)
    clients = {name for s in sessions for name in s.clients.values()}
    return RevokeOutcome(
        title=f"{user.username} signed out everywhere",
        realm=realm,
        target_label=user.username,
        residual_risk=residual_risk_for(admin=admin, realm=realm, client_ids=clients or None),
        notes=[
            f"{len(sessions)} online session{'s' if len(sessions) != 1 else ''} ended.",
            OFFLINE_STALE_NOTE,
        ],
        ledger_entry_id=ledger.pk,
    )


def consent_revoke(
    *,
    admin: Gateway,
    realm: str,
    user_id: str,
    client_id: str,
    actor: User,
    reason: str = "",
    ticket: str = "",
) -> RevokeOutcome:
    """Revoke a user's offline tokens for one client (DELETE users/{id}/consents/{clientId}).

    Keycloak drops the consent and the client from the user's offline sessions, and ends the
    user's online sessions of that client when a consent existed.
    """
    if (
        is_login_realm(realm)
        and user_id == actor.keycloak_sub
        and client_id == settings.KEYCLOAK_CLIENT_ID
    ):
        raise RevocationRefused(OWN_CONSENT_REFUSED)
    user = admin.user_get(realm, user_id)
    consent = next(
        (c for c in admin.user_consents(realm, user_id) if c.client_id == client_id), None
    )
    entry = LedgerDraft(
        actor=actor,
        action=Action.CONSENT_REVOKED,
        realm=realm,
        target_type="consent",
        target_id=f"{user_id}/{client_id}",
        target_label=f"{user.username} / {client_id}",
        reason=reason,
        ticket=ticket,
        before={
            "username": user.username,
            "client_id": client_id,
            "scopes": list(consent.granted_scopes),
            "offline_token": consent.offline_token,
            "created_at": consent.created_at.isoformat() if consent.created_at else None,
        }
        if consent
        else None,
    )
    gone, ledger = delete_unless_gone(
        entry,
        (lambda: admin.consent_revoke(realm, user_id, client_id)) if consent else None,
        after_key="revoked",
    )
    return RevokeOutcome(
        title=f"Offline tokens of {client_id} revoked" if not gone else "No consent to revoke",
        realm=realm,
        target_label=entry.target_label,
        already_gone=gone,
        residual_risk=residual_risk_for(admin=admin, realm=realm, client_ids=[client_id]),
        ledger_entry_id=ledger.pk,
    )
