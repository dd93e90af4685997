"""Revokes of one target: a session, an offline session, a user, a consent, a realm, a client.

Each function re-reads the live state from Keycloak first, makes one change, and writes one
ledger entry once Keycloak has answered (a refused or failed call is recorded too, as FAILED).
Bulk work (many sessions) goes through `bulk.py` and `jobs.py`.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

from tokenadmin.accounts.models import User
from tokenadmin.keycloak import Gateway, GatewayError, KeycloakUnavailable, NotFound
from tokenadmin.keycloak.revocation import PushResult
from tokenadmin.keycloak.types import KcClient, KcSession
from tokenadmin.ledger.models import Action, LedgerEntry, Outcome
from tokenadmin.ledger.services import ledger_entry_create
from tokenadmin.sessionindex.forget import (
    indexed_realm_sessions_forget,
    indexed_sessions_forget,
    indexed_user_sessions_forget,
)

from .outcomes import (
    OWN_CLIENT_NOT_BEFORE_REFUSED,
    OWN_CONSENT_REFUSED,
    OWN_REALM_NOT_BEFORE_REFUSED,
    OWN_SESSION_REFUSED,
    OWN_USER_REFUSED,
    RevocationRefused,
    RevokeOutcome,
    session_snapshot,
)
from .residual import admin_urls_of, push_reach_lines, residual_risk_for

ALREADY_GONE_NOTE = "Keycloak no longer held it: nothing needed revoking."
OFFLINE_STALE_NOTE = (
    "Offline sessions stay listed in Keycloak but can no longer be refreshed (Stale token); "
    "revoke them one by one, or per client, to remove them."
)
# Keycloak 26.7's logout-all removes offline sessions as well (tests/parity holds it).
REALM_OFFLINE_ENDED_NOTE = "Offline sessions of the realm were ended too."


def is_login_realm(realm: str) -> bool:
    """The realm tokenadmin's admins sign in to: realm-wide revokes there hit the admin too."""
    return realm == settings.KEYCLOAK_REALM


@contextmanager
def _failure_recorded(**entry: Any) -> Iterator[None]:
    """Record a change Keycloak refused or did not answer, then let the view show why."""
    try:
        yield
    except GatewayError as exc:
        detail = exc.message + (f" Keycloak said: {exc.detail}" if exc.detail else "")
        if isinstance(exc, KeycloakUnavailable):
            detail += " Whether Keycloak made the change is unknown."
        ledger_entry_create(outcome=Outcome.FAILED, detail=detail, **entry)
        raise


def _delete_unless_gone(
    entry: dict[str, Any], delete: Callable[[], object] | None, *, after_key: str
) -> tuple[bool, LedgerEntry]:
    """Delete a target read a moment ago (`delete` None: the read found none) and record it.

    A target that is gone by the time of the delete needed no revoking: recorded, not failed.
    """
    gone = delete is None
    if delete is not None:
        with _failure_recorded(**entry):
            try:
                delete()
            except NotFound:
                gone = True  # ended between our read and the delete
    ledger = ledger_entry_create(
        **entry, after={after_key: not gone}, detail=ALREADY_GONE_NOTE if gone else ""
    )
    return gone, ledger


def _not_before_set(
    entry: dict[str, Any], set_not_before: Callable[[int], int], *, clear: bool
) -> LedgerEntry:
    """Set a not-before to now, or clear it (0), and record the value it replaced."""
    new_value = 0 if clear else int(time.time())
    entry = {**entry, "action": Action.NOT_BEFORE_CLEARED if clear else Action.NOT_BEFORE_SET}
    with _failure_recorded(**entry):
        previous = set_not_before(new_value)
    return ledger_entry_create(
        **entry, before={"not_before": previous}, after={"not_before": new_value}
    )


def _push_requests(result: PushResult) -> dict[str, list[str]]:
    """Which clients' admin URLs a push (or logout-all) reached, for the ledger's `after`."""
    return {
        "success_requests": list(result.succeeded_urls),
        "failed_requests": list(result.failed_urls),
    }


def _push_outcome(result: PushResult) -> Outcome:
    return Outcome.PARTIAL if result.failed_urls else Outcome.SUCCEEDED


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
    entry: dict[str, Any] = {
        "actor": actor,
        "action": Action.SESSION_REVOKED,
        "realm": realm,
        "target_type": "session",
        "target_id": session_id,
        "target_label": f"{session.username} from {session.ip_address}" if session else session_id,
        "reason": reason,
        "ticket": ticket,
        "before": session_snapshot(session) if session else None,
    }
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
    entry: dict[str, Any],
    session: KcSession | None,
    offline: bool,
    after_key: str,
    titles: tuple[str, str],
    notes: list[str] | None = None,
) -> RevokeOutcome:
    """DELETE one (offline) session unless it is gone, drop it from the index, say what is left.

    `titles` is (done, already gone); `notes` are shown only when the delete happened.
    """
    realm, session_id = entry["realm"], entry["target_id"]
    gone, ledger = _delete_unless_gone(
        entry,
        (lambda: admin.session_delete(realm, session_id, offline=offline)) if session else None,
        after_key=after_key,
    )
    indexed_sessions_forget(realm=realm, session_ids=[session_id], offline=offline)
    clients = session.clients.values() if session else None
    return RevokeOutcome(
        title=titles[1] if gone else titles[0],
        realm=realm,
        target_label=entry["target_label"],
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
    entry: dict[str, Any] = {
        "actor": actor,
        "action": Action.OFFLINE_SESSION_REVOKED,
        "realm": realm,
        "target_type": "offline_session",
        "target_id": session_id,
        "target_label": (
            f"{session.username}: offline token of {', '.join(sorted(session.clients.values()))}"
            if session
            else session_id
        ),
        "reason": reason,
        "ticket": ticket,
        "before": session_snapshot(session) if session else None,
    }
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
    entry: dict[str, Any] = {
        "actor": actor,
        "action": Action.USER_SIGNED_OUT,
        "realm": realm,
        "target_type": "user",
        "target_id": user_id,
        "target_label": user.username,
        "reason": reason,
        "ticket": ticket,
        "before": {
            "username": user.username,
            "online_sessions": [session_snapshot(s) for s in sessions],
        },
    }
    with _failure_recorded(**entry):
        admin.user_logout(realm, user_id)
    ledger = ledger_entry_create(
        **entry, after={"online_sessions_ended": len(sessions), "user_not_before": "now"}
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
    entry: dict[str, Any] = {
        "actor": actor,
        "action": Action.CONSENT_REVOKED,
        "realm": realm,
        "target_type": "consent",
        "target_id": f"{user_id}/{client_id}",
        "target_label": f"{user.username} / {client_id}",
        "reason": reason,
        "ticket": ticket,
        "before": {
            "username": user.username,
            "client_id": client_id,
            "scopes": list(consent.granted_scopes),
            "offline_token": consent.offline_token,
            "created_at": consent.created_at.isoformat() if consent.created_at else None,
        }
        if consent
        else None,
    }
    gone, ledger = _delete_unless_gone(
        entry,
        (lambda: admin.consent_revoke(realm, user_id, client_id)) if consent else None,
        after_key="revoked",
    )
    return RevokeOutcome(
        title=f"Offline tokens of {client_id} revoked" if not gone else "No consent to revoke",
        realm=realm,
        target_label=entry["target_label"],
        already_gone=gone,
        residual_risk=residual_risk_for(admin=admin, realm=realm, client_ids=[client_id]),
        ledger_entry_id=ledger.pk,
    )


def realm_sign_out(
    *, admin: Gateway, realm: str, actor: User, reason: str, ticket: str = ""
) -> RevokeOutcome:
    """Sign out everyone in a realm at once (POST logout-all; also sets the realm not-before).

    Not for the admin's own login realm: that goes through a bulk job that spares their session
    (see bulk.py); logout-all would end it and the not-before would void their tokens.
    """
    if is_login_realm(realm):
        raise RevocationRefused(OWN_REALM_NOT_BEFORE_REFUSED.format(realm=realm))
    try:
        stats = admin.client_session_stats(realm)
        before: Any = {s.client_id: {"active": s.active, "offline": s.offline} for s in stats}
    except GatewayError:
        before = None  # counts need view-realm; the sign-out itself needs manage-users
    entry: dict[str, Any] = {
        "actor": actor,
        "action": Action.REALM_SIGNED_OUT,
        "realm": realm,
        "target_type": "realm",
        "target_id": realm,
        "target_label": realm,
        "reason": reason,
        "ticket": ticket,
        "before": before,
    }
    with _failure_recorded(**entry):
        result = admin.realm_logout_all(realm)
    ledger = ledger_entry_create(
        **entry,
        after={"realm_not_before": "now", **_push_requests(result)},
        outcome=_push_outcome(result),
    )
    indexed_realm_sessions_forget(realm=realm)
    return RevokeOutcome(
        title=f"Everyone in {realm} signed out",
        realm=realm,
        target_label=realm,
        residual_risk=residual_risk_for(admin=admin, realm=realm, client_ids=None),
        push_lines=push_reach_lines(result, admin_urls=admin_urls_of(admin, realm)),
        notes=[REALM_OFFLINE_ENDED_NOTE],
        ledger_entry_id=ledger.pk,
    )


def realm_not_before_update(
    *, admin: Gateway, realm: str, actor: User, clear: bool, reason: str = "", ticket: str = ""
) -> RevokeOutcome:
    """Set the realm's not-before to now (every older token fails refresh) or clear it (0)."""
    if not clear and is_login_realm(realm):
        raise RevocationRefused(OWN_REALM_NOT_BEFORE_REFUSED.format(realm=realm))
    entry: dict[str, Any] = {
        "actor": actor,
        "realm": realm,
        "target_type": "realm",
        "target_id": realm,
        "target_label": realm,
        "reason": reason,
        "ticket": ticket,
    }
    ledger = _not_before_set(
        entry, lambda value: admin.realm_not_before_set(realm, value), clear=clear
    )
    if clear:
        return RevokeOutcome(
            title=f"Not-before of {realm} cleared",
            realm=realm,
            target_label=realm,
            notes=["Tokens are judged by their own lifespans again."],
            ledger_entry_id=ledger.pk,
        )
    return RevokeOutcome(
        title=f"Not-before of {realm} set to now",
        realm=realm,
        target_label=realm,
        residual_risk=residual_risk_for(admin=admin, realm=realm, client_ids=None),
        notes=[
            "Every refresh token, offline token and ID token issued before now is refused. "
            "Push the revocation so clients with an admin URL drop their sessions too."
        ],
        ledger_entry_id=ledger.pk,
    )


def client_or_not_found(admin: Gateway, realm: str, client_id: str) -> KcClient:
    client = admin.client_by_client_id(realm, client_id)
    if client is None:
        raise NotFound(f"find client {client_id} in {realm}", "Could not find client")
    return client


def client_not_before_update(
    *,
    admin: Gateway,
    realm: str,
    client_id: str,
    actor: User,
    clear: bool,
    reason: str = "",
    ticket: str = "",
) -> RevokeOutcome:
    """Set a client's not-before to now, or clear it (PUT clients/{uuid} with the full rep)."""
    if not clear and is_login_realm(realm) and client_id == settings.KEYCLOAK_CLIENT_ID:
        raise RevocationRefused(OWN_CLIENT_NOT_BEFORE_REFUSED.format(client_id=client_id))
    client = client_or_not_found(admin, realm, client_id)
    entry: dict[str, Any] = {
        "actor": actor,
        "realm": realm,
        "target_type": "client",
        "target_id": client.uuid,
        "target_label": client_id,
        "reason": reason,
        "ticket": ticket,
    }
    ledger = _not_before_set(
        entry, lambda value: admin.client_not_before_set(realm, client.uuid, value), clear=clear
    )
    return RevokeOutcome(
        title=f"Not-before of {client_id} {'cleared' if clear else 'set to now'}",
        realm=realm,
        target_label=client_id,
        residual_risk=[]
        if clear
        else residual_risk_for(admin=admin, realm=realm, client_ids=[client_id]),
        notes=[]
        if clear
        else [f"Refresh and offline tokens {client_id} received before now are refused."],
        ledger_entry_id=ledger.pk,
    )


def revocation_push(
    *,
    admin: Gateway,
    realm: str,
    actor: User,
    client_id: str = "",
    reason: str = "",
    ticket: str = "",
) -> RevokeOutcome:
    """Push the not-before to clients with an admin URL (POST [clients/{uuid}/]push-revocation)."""
    client = client_or_not_found(admin, realm, client_id) if client_id else None
    entry: dict[str, Any] = {
        "actor": actor,
        "action": Action.PUSH_REVOCATION,
        "realm": realm,
        "target_type": "client" if client else "realm",
        "target_id": client.uuid if client else realm,
        "target_label": client_id or realm,
        "reason": reason,
        "ticket": ticket,
    }
    with _failure_recorded(**entry):
        if client:
            result = admin.client_push_revocation(realm, client.uuid)
        else:
            result = admin.realm_push_revocation(realm)
    ledger = ledger_entry_create(
        **entry,
        after=_push_requests(result),
        outcome=_push_outcome(result),
        detail=f"{len(result.failed_urls)} client(s) unreachable" if result.failed_urls else "",
    )
    return RevokeOutcome(
        title=f"Revocation pushed for {client_id or realm}",
        realm=realm,
        target_label=client_id or realm,
        push_lines=push_reach_lines(result, admin_urls=admin_urls_of(admin, realm)),
        failed=bool(result.failed_urls),
        ledger_entry_id=ledger.pk,
    )
