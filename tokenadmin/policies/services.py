"""Creating, changing and switching a policy: each change is one ledger entry."""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from tokenadmin.accounts.models import User
from tokenadmin.ledger.models import Action
from tokenadmin.ledger.services import LedgerDraft, ledger_entry_record

from .capped import policy_capped_finding_close
from .models import Mode, Policy

REALM_NAME_MISMATCH = "Type the realm's name exactly to switch this policy to enforce."
ALREADY_ENFORCING = "This policy already enforces."
ALREADY_DRY_RUN = "This policy is already a dry run."
NAME_TAKEN = "Another policy of this realm has that name."
# What a policy is, for the ledger's before/after.
FIELDS = ("name", "kind", "min_severity", "mode", "max_sessions", "max_share_percent")


class PolicyError(ValueError):
    """Bad input or a refused change (shown to the admin as it is)."""


def _state(policy: Policy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in FIELDS}


def _draft(
    policy: Policy, actor: User, action: Action, *, before: Any, reason: str = ""
) -> LedgerDraft:
    return LedgerDraft(
        actor=actor,
        action=action,
        realm=policy.realm,
        target_type="policy",
        target_id=str(policy.pk),
        target_label=f"Revocation policy “{policy.name}”",
        reason=reason,
        before=before,
    )


def policy_save(*, policy: Policy, actor: User) -> Policy:
    """Create or change a policy as a form filled it (its mode stays as it was)."""
    created = policy.pk is None
    before = None if created else _state(Policy.objects.get(pk=policy.pk))
    if created:
        policy.created_by = actor.username
        policy.mode = Mode.DRY_RUN
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError:
        raise PolicyError(NAME_TAKEN) from None
    draft = _draft(
        policy, actor, Action.POLICY_CHANGED, before=before, reason="created" if created else ""
    )
    ledger_entry_record(draft, after=_state(policy))
    return policy


def policy_enforce(*, policy: Policy, actor: User, own_session_id: str, typed_realm: str) -> Policy:
    """Switch a policy to enforce, the realm's name typed as for a realm-wide sign-out. Its
    runs then revoke as jobs naming `actor`, never `actor`'s sessions."""
    if typed_realm.strip() != policy.realm:
        raise PolicyError(REALM_NAME_MISMATCH)
    if policy.is_enforcing:
        raise PolicyError(ALREADY_ENFORCING)
    draft = _draft(policy, actor, Action.POLICY_ENFORCED, before=_state(policy))
    policy.mode = Mode.ENFORCE
    policy.enforced_by = actor
    policy.enforced_by_username = actor.username
    policy.enforced_session_id = own_session_id
    policy.enforced_at = timezone.now()
    policy.save()
    ledger_entry_record(draft, after=_state(policy))
    return policy


def policy_dry_run_set(*, policy: Policy, actor: User) -> Policy:
    """Back to reporting only; its runs revoke nothing from now on."""
    if not policy.is_enforcing:
        raise PolicyError(ALREADY_DRY_RUN)
    draft = _draft(policy, actor, Action.POLICY_DRY_RUN, before=_state(policy))
    policy.mode = Mode.DRY_RUN
    policy.enforced_by = None
    policy.enforced_by_username = ""
    policy.enforced_session_id = ""
    policy.enforced_at = None
    policy.save()
    # A dry run never stops at its cap: its capped finding, if any, is over.
    policy_capped_finding_close(policy=policy, now=timezone.now())
    ledger_entry_record(draft, after=_state(policy))
    return policy
