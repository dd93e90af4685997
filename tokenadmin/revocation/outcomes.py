"""What a revoke did, as the result partial shows it, and the refusals that protect the admin."""

from dataclasses import dataclass, field
from typing import Any

from tokenadmin.keycloak.types import KcSession

# Refusals: module constants so tests and templates share the exact words.
OWN_SESSION_REFUSED = (
    "This is your own session: signing it out would end your tokenadmin login. "
    "Use “Sign out” in the top bar instead."
)
OWN_USER_REFUSED = (
    "This is you: signing yourself out everywhere would end this tokenadmin session too. "
    "Ask another admin to do it, or sign out and revoke from Keycloak's console."
)
OWN_CONSENT_REFUSED = (
    "This would end your own tokenadmin session (you are signed in through this client)."
)
OWN_REALM_NOT_BEFORE_REFUSED = (
    "A not-before on {realm} would invalidate your own tokens: it is the realm you are signed "
    "in to, so tokenadmin would lose its access to Keycloak at once. Ask another admin (from a "
    "different realm or Keycloak's console) to set it."
)
OWN_CLIENT_NOT_BEFORE_REFUSED = (
    "A not-before on {client_id} would invalidate your own tokenadmin login, which comes "
    "through this client."
)
REALM_NAME_MISMATCH = "Type the realm's name exactly to confirm a realm-wide action."
REASON_REQUIRED = "Say why: the ledger keeps the reason with the revoke."
NOTHING_SELECTED = "Nothing to revoke: the selection or recipe matches no session."


class RevocationRefused(Exception):
    """tokenadmin will not do this (it would lock the admin out, or was not confirmed)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RevokeOutcome:
    """One finished (or handed-over) revoke, ready for the result partial."""

    title: str
    realm: str
    target_label: str
    already_gone: bool = False
    residual_risk: list[str] = field(default_factory=list)
    push_lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: bool = False
    # Set when the work went to a bulk job instead (the page then shows its progress).
    job_id: int | None = None
    ledger_entry_id: int | None = None


def session_snapshot(session: KcSession) -> dict[str, Any]:
    """The session as it was, for the ledger's `before` (no tokens: Keycloak lists none)."""
    return {
        "id": session.id,
        "offline": session.offline,
        "user_id": session.user_id,
        "username": session.username,
        "ip_address": session.ip_address,
        "started_at": session.started_at.isoformat(),
        "last_access_at": session.last_access_at.isoformat(),
        "remember_me": session.remember_me,
        "clients": sorted(session.clients.values()),
    }
