"""Revokes that reach a whole realm or client: logout-all, the not-before, a push.

As in `services.py`: read live state first, one change, one ledger entry once Keycloak answered.
"""

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.conf import settings

from tokenadmin.accounts.models import User
from tokenadmin.keycloak import Gateway, GatewayError, NotFound
from tokenadmin.keycloak.revocation import PushResult
from tokenadmin.keycloak.types import KcClient
from tokenadmin.ledger.models import Action, LedgerEntry, Outcome
from tokenadmin.ledger.services import LedgerDraft, ledger_entry_record
from tokenadmin.sessionindex.forget import indexed_realm_sessions_forget

from .outcomes import (
    OWN_CLIENT_NOT_BEFORE_REFUSED,
    OWN_REALM_NOT_BEFORE_REFUSED,
    RevocationRefused,
    RevokeOutcome,
)
from .recording import failure_recorded, is_login_realm
from .residual import admin_urls_of, push_reach_lines, residual_risk_for

# Keycloak 26.7's logout-all removes offline sessions as well (tests/parity holds it).
REALM_OFFLINE_ENDED_NOTE = "Offline sessions of the realm were ended too."


def _realm_draft(
    actor: User, action: Action, realm: str, *, reason: str, ticket: str, before: Any = None
) -> LedgerDraft:
    """The ledger entry of a change whose target is the realm itself."""
    return LedgerDraft(
        actor=actor,
        action=action,
        realm=realm,
        target_type="realm",
        target_id=realm,
        target_label=realm,
        reason=reason,
        ticket=ticket,
        before=before,
    )


def _not_before_set(
    entry: LedgerDraft, set_not_before: Callable[[int], int], *, clear: bool
) -> LedgerEntry:
    """Set a not-before to now, or clear it (0), and record the value it replaced."""
    new_value = 0 if clear else int(time.time())
    with failure_recorded(entry):
        previous = set_not_before(new_value)
    return ledger_entry_record(
        replace(entry, before={"not_before": previous}), after={"not_before": new_value}
    )


def _push_requests(result: PushResult) -> dict[str, list[str]]:
    """Which clients' admin URLs a push (or logout-all) reached, for the ledger's `after`."""
    return {
        "success_requests": list(result.succeeded_urls),
        "failed_requests": list(result.failed_urls),
    }


def _push_outcome(result: PushResult) -> Outcome:
    return Outcome.PARTIAL if result.failed_urls else Outcome.SUCCEEDED


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
    entry = _realm_draft(
        actor, Action.REALM_SIGNED_OUT, realm, reason=reason, ticket=ticket, before=before
    )
    with failure_recorded(entry):
        result = admin.realm_logout_all(realm)
    ledger = ledger_entry_record(
        entry,
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
    action = Action.NOT_BEFORE_CLEARED if clear else Action.NOT_BEFORE_SET
    entry = _realm_draft(actor, action, realm, reason=reason, ticket=ticket)
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
    entry = LedgerDraft(
        actor=actor,
        action=Action.NOT_BEFORE_CLEARED if clear else Action.NOT_BEFORE_SET,
        realm=realm,
        target_type="client",
        target_id=client.uuid,
        target_label=client_id,
        reason=reason,
        ticket=ticket,
    )
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
    entry = LedgerDraft(
        actor=actor,
        action=Action.PUSH_REVOCATION,
        realm=realm,
        target_type="client" if client else "realm",
        target_id=client.uuid if client else realm,
        target_label=client_id or realm,
        reason=reason,
        ticket=ticket,
    )
    with failure_recorded(entry):
        if client:
            result = admin.client_push_revocation(realm, client.uuid)
        else:
            result = admin.realm_push_revocation(realm)
    ledger = ledger_entry_record(
        entry,
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
