"""Running the checks and muting a finding: the functions views, tasks and tests call."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tokenadmin.accounts.models import User
from tokenadmin.keycloak import Gateway, GatewayError
from tokenadmin.ledger.models import Action
from tokenadmin.ledger.services import LedgerDraft, ledger_entry_record

from .checks import (
    Seen,
    disabled_users_check,
    live_by_user_read,
    many_addresses_check,
    many_sessions_check,
    offline_idle_check,
)
from .models import Finding, Kind, RealmThresholds

logger = logging.getLogger(__name__)


class FindingError(ValueError):
    """Bad input for a finding (shown to the admin as it is)."""


def realm_thresholds_get(*, realm: str) -> RealmThresholds:
    """The realm's thresholds, the defaults when none were set (not saved)."""
    return RealmThresholds.objects.filter(realm=realm).first() or RealmThresholds(realm=realm)


def realm_thresholds_set(
    *, realm: str, offline_idle_days: int, max_sessions_per_user: int, max_addresses_per_user: int
) -> RealmThresholds:
    thresholds, _ = RealmThresholds.objects.update_or_create(
        realm=realm,
        defaults={
            "offline_idle_days": offline_idle_days,
            "max_sessions_per_user": max_sessions_per_user,
            "max_addresses_per_user": max_addresses_per_user,
        },
    )
    return thresholds


def findings_run(
    *, realm: str, gateway: Gateway | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Run every check over the realm's index: open what is new, update what is still there,
    close what is gone. Returns how many findings were opened, kept and closed.

    The disabled-users check reads Keycloak's disabled users through `gateway`; without one,
    or when Keycloak does not answer, that check is skipped and its open findings stay as
    they are (not closed: nobody saw their condition end)."""
    now = now or timezone.now()
    thresholds = realm_thresholds_get(realm=realm)
    live = live_by_user_read(realm=realm, now=now)
    seen: dict[tuple[str, str], Seen] = {}
    for found in [
        *offline_idle_check(realm=realm, thresholds=thresholds, now=now),
        *many_sessions_check(live=live, thresholds=thresholds),
        *many_addresses_check(live=live, thresholds=thresholds),
    ]:
        seen[(found.kind, found.subject)] = found
    skipped: set[str] = set()
    try:
        if gateway is None:
            raise LookupError("no gateway")
        disabled = {u.id: u.username for u in gateway.users_disabled(realm)}
    except (LookupError, GatewayError) as exc:
        if isinstance(exc, GatewayError):
            logger.warning("disabled-users check of %s skipped: %s", realm, exc)
        skipped.add(Kind.DISABLED_USER)
    else:
        for found in disabled_users_check(live=live, disabled=disabled):
            seen[(found.kind, found.subject)] = found
    changed: list[Finding] = []
    gone: list[int] = []
    kept = 0
    with transaction.atomic():
        open_findings = Finding.objects.select_for_update().filter(
            realm=realm, closed_at__isnull=True
        )
        for finding in open_findings.iterator(chunk_size=2000):
            if finding.kind in skipped:
                continue
            item = seen.get((finding.kind, finding.subject))
            if item is None:
                gone.append(finding.pk)
                continue
            del seen[(finding.kind, finding.subject)]
            kept += 1
            now_holds = (item.severity, item.explanation, item.sessions, item.subject_label)
            held = (finding.severity, finding.explanation, finding.sessions, finding.subject_label)
            if now_holds != held:
                finding.severity, finding.explanation, finding.sessions = now_holds[:3]
                finding.subject_label = item.subject_label
                changed.append(finding)
        # Writes only what changed: a warm run over an unchanged realm is reads and 1 UPDATE.
        Finding.objects.bulk_update(
            changed, ["severity", "explanation", "sessions", "subject_label"], batch_size=500
        )
        for at in range(0, len(gone), 500):
            Finding.objects.filter(pk__in=gone[at : at + 500]).update(closed_at=now)
        open_findings.update(checked_at=now)
        Finding.objects.bulk_create(
            (
                Finding(
                    realm=realm,
                    kind=item.kind,
                    subject=item.subject,
                    subject_label=item.subject_label,
                    severity=item.severity,
                    explanation=item.explanation,
                    sessions=item.sessions,
                    opened_at=now,
                    checked_at=now,
                )
                for item in seen.values()
            ),
            batch_size=500,
        )
    opened, closed = len(seen), len(gone)
    return {"opened": opened, "kept": kept, "closed": closed}


def finding_mute(*, finding: Finding, actor: User, reason: str) -> Finding:
    """Mute an open finding with a reason, kept in the ledger. A muted finding still closes
    itself when its condition is gone."""
    reason = reason.strip()
    if not reason:
        raise FindingError("Say why this finding is muted.")
    if finding.muted_at is not None:
        raise FindingError("This finding is already muted.")
    draft = LedgerDraft(
        actor=actor,
        action=Action.FINDING_MUTED,
        realm=finding.realm,
        target_type="finding",
        target_id=str(finding.pk),
        target_label=f"{finding.get_kind_display()}: {finding.subject_label}",
        reason=reason,
        before={"muted": False},
    )
    finding.muted_at = timezone.now()
    finding.muted_by = actor.username
    finding.mute_reason = reason
    finding.save(update_fields=["muted_at", "muted_by", "mute_reason"])
    ledger_entry_record(draft, after={"muted": True})
    return finding
