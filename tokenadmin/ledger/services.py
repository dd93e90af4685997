"""Writing the ledger: one entry per change, written by the function that makes the change."""

import re
from dataclasses import dataclass
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


@dataclass(frozen=True)
class LedgerDraft:
    """A change about to be recorded: who, what, where, and the state before it. Built once
    before the change is tried and recorded once Keycloak has answered, as it went
    (`ledger_entry_record`) or as it failed. `before` is redacted as the draft is made, so no
    secret a Keycloak representation carries can reach the ledger through a draft."""

    actor: User | None
    action: Action
    realm: str
    target_type: str = ""
    target_id: str = ""
    target_label: str = ""
    reason: str = ""
    ticket: str = ""
    before: Any = None
    actor_username: str = ""  # for actor None: who else did it ("tokenadmin" when blank)

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", Action(self.action))
        object.__setattr__(self, "before", redact(self.before))


def ledger_entry_record(
    draft: LedgerDraft,
    *,
    after: Any = None,
    outcome: Outcome | str = Outcome.SUCCEEDED,
    detail: str = "",
) -> LedgerEntry:
    """Record one change (the one writer of LedgerEntry). `draft.actor` None means tokenadmin
    itself (a scheduled job)."""
    actor = draft.actor
    return LedgerEntry.objects.create(
        actor=actor,
        actor_username=actor.username if actor else (draft.actor_username or "tokenadmin"),
        actor_sub=(actor.keycloak_sub or "") if actor else "",
        realm=draft.realm,
        action=draft.action.value,
        target_type=draft.target_type,
        target_id=draft.target_id,
        target_label=draft.target_label[:500],
        reason=draft.reason,
        ticket=draft.ticket[:255],
        before=draft.before,
        after=redact(after),
        outcome=Outcome(outcome).value,
        detail=detail,
    )


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
    """Record one change whose draft and outcome are known at once."""
    draft = LedgerDraft(
        actor=actor,
        action=Action(action),
        realm=realm,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        reason=reason,
        ticket=ticket,
        before=before,
        actor_username=actor_username,
    )
    return ledger_entry_record(draft, after=after, outcome=outcome, detail=detail)
