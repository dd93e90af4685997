"""Reads for the revocation pages: which realms the admin may act on, recent jobs, users found,
a realm's session counts."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from tokenadmin.accounts.rights import AdminRights
from tokenadmin.keycloak import Gateway, GatewayError
from tokenadmin.keycloak.types import ClientSessionStats, KcUser

from .models import RevocationJob
from .recording import is_login_realm

# What reading a job takes: its items are users, sessions and addresses.
JOB_RIGHT = "view-users"
RIGHTS_SHOWN = ("manage-users", "manage-realm", "manage-clients", "view-users")


@dataclass(frozen=True)
class RealmActions:
    name: str
    can: dict[str, bool]  # keys with underscores, for templates: can.manage_users
    # epoch s, 0 = none; None when the admin may not read it (needs manage-realm here).
    not_before: int | None
    login_realm: bool


def realm_actions_select(*, admin: Gateway, rights: AdminRights) -> list[RealmActions]:
    """Every realm Keycloak lists for the admin where their roles allow some revocation."""
    found = []
    for realm in admin.realms_list():
        can = {right: rights.can(realm.name, right) for right in RIGHTS_SHOWN}
        if not any(can.values()):
            continue
        not_before = None
        if can["manage-realm"]:
            try:
                not_before = admin.realm_not_before(realm.name)
            except GatewayError:
                not_before = None
        found.append(
            RealmActions(
                name=realm.name,
                can={k.replace("-", "_"): v for k, v in can.items()},
                not_before=not_before,
                login_realm=is_login_realm(realm.name),
            )
        )
    return found


def revocation_jobs_select(*, rights: AdminRights) -> QuerySet[RevocationJob]:
    """Jobs in the realms whose users the admin may view (all of them for master's admin): a
    job's label and items name users and sessions."""
    jobs = RevocationJob.objects.select_related("ledger_entry")
    if not rights.is_superadmin:
        jobs = jobs.filter(realm__in=[r for r in rights.by_realm if rights.can(r, JOB_RIGHT)])
    return jobs


def revocation_jobs_waiting(*, older_than: datetime) -> list[int]:
    """Jobs whose task the queue may have lost: waiting for a worker since before `older_than`
    (Redis was down when they were queued), or running on a lease that ran out before it (their
    worker died). Queuing one again is harmless: its lease lets one run work on it at a time."""
    waiting = Q(state=RevocationJob.State.PENDING, created_at__lt=older_than)
    orphaned = Q(state=RevocationJob.State.RUNNING, lease_until__lt=older_than)
    return list(RevocationJob.objects.filter(waiting | orphaned).values_list("pk", flat=True))


def realm_session_stats_select(*, admin: Gateway, realm: str) -> list[ClientSessionStats] | None:
    """The realm's session counts per client, or None when Keycloak will not give them."""
    try:
        return admin.client_session_stats(realm)
    except GatewayError:
        return None


def users_find_select(*, admin: Gateway, realm: str, query: str) -> list[KcUser]:
    """Users whose name, email or username matches `query` (none for an empty query)."""
    return admin.users_search(realm, query) if query else []
