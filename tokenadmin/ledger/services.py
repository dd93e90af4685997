"""Writing the ledger: one entry per change, written by the function that makes the change."""

import re
from typing import Any

from tokenadmin.accounts.models import User

from .models import Action, LedgerEntry, Outcome

# Keys whose values never enter the ledger, whatever a Keycloak representation carries.
_SECRET_KEY = re.compile(r"secret|password|credential|private", re.IGNORECASE)
# "access_token", "refreshToken": a token string. Not "accessTokenLifespan" nor the switch
# "revokeRefreshToken" (a boolean), which the ledger must show.
_TOKEN_KEY = re.compile(r"token$", re.IGNORECASE)
REDACTED = "[redacted]"


def _is_secret(key: object, value: object) -> bool:
    name = str(key)
    return bool(_SECRET_KEY.search(name)) or (
        bool(_TOKEN_KEY.search(name)) and isinstance(value, str)
    )


def redact(value: Any) -> Any:
    """A copy of `value` with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {k: REDACTED if _is_secret(k, v) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def ledger_entry_create(
    *,
    actor: User | None,
    action: Action | str,
    realm: str,
    target_type: str = "",
    target_id: str = "",
    target_label: str = "",
    reason: str = "",
    ticket: str = "",
    before: Any = None,
    after: Any = None,
    outcome: Outcome | str = Outcome.SUCCEEDED,
    detail: str = "",
    actor_username: str = "",
) -> LedgerEntry:
    """Record one change. `actor` None means tokenadmin itself (a scheduled job)."""
    action = Action(action)
    outcome = Outcome(outcome)
    return LedgerEntry.objects.create(
        actor=actor,
        actor_username=actor.username if actor else (actor_username or "tokenadmin"),
        actor_sub=(actor.keycloak_sub or "") if actor else "",
        realm=realm,
        action=action.value,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label[:500],
        reason=reason,
        ticket=ticket[:255],
        before=redact(before),
        after=redact(after),
        outcome=outcome.value,
        detail=detail,
    )
