"""Running the checks and muting a finding: the functions views, tasks and tests call."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from tokenadmin.accounts.models import User
from tokenadmin.keycloak import Gateway, GatewayError, NotFound
from tokenadmin.ledger.models import Action
from tokenadmin.ledger.services import LedgerDraft, ledger_entry_record

from .change_checks import client_checks, credential_changed_check, oldest_live_start
from .checks import (
    Seen,
    disabled_users_check,
    live_sessions_read,
    live_users_read,
    many_addresses_check,
    many_sessions_check,
    missing_users_check,
    offline_idle_check,
    users_over_read,
)
from .history_checks import count_jump_check, lifespan_drift_check
from .models import DEFAULT_JUMP_MIN, DEFAULT_JUMP_PERCENT, Finding, Kind, RealmThresholds

logger = logging.getLogger(__name__)


class FindingError(ValueError):
    """Bad input for a finding (shown to the admin as it is)."""


def realm_thresholds_get(*, realm: str) -> RealmThresholds:
    """The realm's thresholds, the defaults when none were set (not saved)."""
    return RealmThresholds.objects.filter(realm=realm).first() or RealmThresholds(realm=realm)


def realm_thresholds_set(
    *,
    realm: str,
    offline_idle_days: int,
    max_sessions_per_user: int,
    max_addresses_per_user: int,
    count_jump_percent: int = DEFAULT_JUMP_PERCENT,
    count_jump_min: int = DEFAULT_JUMP_MIN,
) -> RealmThresholds:
    thresholds, _ = RealmThresholds.objects.update_or_create(
        realm=realm,
        defaults={
            "offline_idle_days": offline_idle_days,
            "max_sessions_per_user": max_sessions_per_user,
            "max_addresses_per_user": max_addresses_per_user,
            "count_jump_percent": count_jump_percent,
            "count_jump_min": count_jump_min,
        },
    )
    return thresholds


def _index_checks(*, realm: str, now: datetime) -> list[Seen]:
    thresholds = realm_thresholds_get(realm=realm)
    over = users_over_read(realm=realm, now=now, thresholds=thresholds)
    live = live_sessions_read(realm=realm, now=now, users=over)
    return [
        *offline_idle_check(realm=realm, thresholds=thresholds, now=now),
        *many_sessions_check(live=live, thresholds=thresholds),
        *many_addresses_check(live=live, thresholds=thresholds),
        *count_jump_check(realm=realm, thresholds=thresholds),
        *lifespan_drift_check(realm=realm),
    ]


# Listing every user costs about a second per 25,000 users: the list is kept while Keycloak's
# user count stays the same, for at most this long (a delete changes the count; a delete and a
# create in between are seen when it expires).
USER_IDS_KEPT_S = 3600


def _user_ids(realm: str, gateway: Gateway) -> set[str]:
    count = gateway.user_count(realm)
    key = f"findings:user-ids:{realm}"
    held = cache.get(key)
    if held is not None and held[0] == count:
        return set(held[1])
    ids = gateway.user_ids(realm)
    cache.set(key, (count, sorted(ids)), USER_IDS_KEPT_S)
    return ids


def _missing_users(realm: str, gateway: Gateway, live_users: set[str]) -> set[str]:
    """Users with live sessions that Keycloak's user list lacks, each confirmed by a 404 of its
    own (the list leaves out service-account users, who do exist)."""
    missing = set()
    for user_id in sorted(live_users - _user_ids(realm, gateway)):
        try:
            gateway.user_get(realm, user_id)
        except NotFound:
            missing.add(user_id)
    return missing


def _credential_check(*, realm: str, gateway: Gateway, now: datetime) -> list[Seen]:
    oldest = oldest_live_start(realm=realm, now=now)
    if oldest is None:
        return []
    changes = gateway.credential_changes(realm, since=oldest.astimezone(UTC).date())
    return credential_changed_check(realm=realm, changes=changes, now=now)


def _disabled_check(*, realm: str, gateway: Gateway, now: datetime) -> list[Seen]:
    disabled = {u.id: u.username for u in gateway.users_disabled(realm)}
    live = live_sessions_read(realm=realm, now=now, users=set(disabled))
    return disabled_users_check(live=live, disabled=disabled)


def _missing_check(*, realm: str, gateway: Gateway, now: datetime) -> list[Seen]:
    missing = _missing_users(realm, gateway, live_users_read(realm=realm, now=now))
    live = live_sessions_read(realm=realm, now=now, users=missing)
    return missing_users_check(live=live, missing=missing)


def _keycloak_checks(
    *, realm: str, gateway: Gateway | None, now: datetime
) -> tuple[list[Seen], set[str]]:
    """The checks that read Keycloak (users, events, clients). A check whose read fails, or
    that has no gateway, is skipped: its kinds are returned so their open findings stay as
    they are (not closed: nobody saw their condition end)."""
    reads: list[tuple[tuple[str, ...], Callable[[Gateway], list[Seen]]]] = [
        (
            (Kind.DISABLED_USER,),
            lambda gw: _disabled_check(realm=realm, gateway=gw, now=now),
        ),
        (
            (Kind.MISSING_USER,),
            lambda gw: _missing_check(realm=realm, gateway=gw, now=now),
        ),
        (
            (Kind.CREDENTIAL_CHANGED,),
            lambda gw: _credential_check(realm=realm, gateway=gw, now=now),
        ),
        (
            (Kind.CLIENT_DISABLED, Kind.SECRET_ROTATED),
            lambda gw: client_checks(realm=realm, clients=gw.clients_list(realm), now=now),
        ),
    ]
    found: list[Seen] = []
    skipped: set[str] = set()
    for kinds, check in reads:
        if gateway is None:
            skipped.update(kinds)
            continue
        try:
            found.extend(check(gateway))
        except GatewayError as exc:
            logger.warning("the %s check of %s skipped: %s", "/".join(kinds), realm, exc)
            skipped.update(kinds)
    return found, skipped


def _finding_new(*, realm: str, item: Seen, now: datetime) -> Finding:
    return Finding(
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


# Kinds another app opens and closes itself (policies/capped.py); the checks leave them be.
RAISED_ELSEWHERE = frozenset({Kind.POLICY_CAPPED})


HELD = ("pk", "kind", "subject", "severity", "explanation", "sessions", "subject_label")


def _findings_apply(
    *, realm: str, seen: dict[tuple[str, str], Seen], skipped: set[str], now: datetime
) -> dict[str, int]:
    """Update the open findings still seen, close those gone, open the new ones."""
    changed: list[Finding] = []
    gone: list[int] = []
    kept = 0
    with transaction.atomic():
        open_findings = Finding.objects.select_for_update().filter(
            realm=realm, closed_at__isnull=True
        )
        # Only the compared columns, as tuples: a model instance per open finding (dates and
        # all) cost more than the checks' reads once thousands are open.
        held = open_findings.exclude(kind__in=[*skipped, *RAISED_ELSEWHERE]).values_list(*HELD)
        for pk, kind, subject, severity, explanation, sessions, label in held.iterator(
            chunk_size=2000
        ):
            item = seen.pop((kind, subject), None)
            if item is None:
                gone.append(pk)
                continue
            kept += 1
            now_holds = (item.severity, item.explanation, item.sessions, item.subject_label)
            if now_holds != (severity, explanation, sessions, label):
                changed.append(
                    Finding(
                        pk=pk,
                        severity=item.severity,
                        explanation=item.explanation,
                        sessions=item.sessions,
                        subject_label=item.subject_label,
                    )
                )
        # Writes only what changed: a warm run over an unchanged realm is reads and 1 UPDATE.
        Finding.objects.bulk_update(
            changed, ["severity", "explanation", "sessions", "subject_label"], batch_size=500
        )
        for at in range(0, len(gone), 500):
            Finding.objects.filter(pk__in=gone[at : at + 500]).update(closed_at=now)
        open_findings.update(checked_at=now)
        Finding.objects.bulk_create(
            (_finding_new(realm=realm, item=item, now=now) for item in seen.values()),
            batch_size=500,
        )
    return {"opened": len(seen), "kept": kept, "closed": len(gone)}


def findings_run(
    *, realm: str, gateway: Gateway | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Run every check over the realm's index: open what is new, update what is still there,
    close what is gone. Returns how many findings were opened, kept and closed.

    The checks that read Keycloak (disabled and missing users, credential changes, clients)
    go through `gateway`; without one, or when Keycloak does not answer, they are skipped and
    their open findings stay as they are."""
    now = now or timezone.now()
    from_keycloak, skipped = _keycloak_checks(realm=realm, gateway=gateway, now=now)
    seen = {(f.kind, f.subject): f for f in _index_checks(realm=realm, now=now)}
    seen.update({(f.kind, f.subject): f for f in from_keycloak})
    return _findings_apply(realm=realm, seen=seen, skipped=skipped, now=now)


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
