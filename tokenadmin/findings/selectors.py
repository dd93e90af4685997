"""Reads for the findings pages."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from tokenadmin.keycloak import Gateway, GatewayError
from tokenadmin.keycloak.watch import CREDENTIAL_EVENT_TYPES
from tokenadmin.sessionindex.models import IndexedSession, RealmIndex

from .models import Finding

# A finding's card lists this many of its sessions; the preview gets them all.
SESSIONS_SHOWN = 20


@dataclass(frozen=True)
class FindingView:
    finding: Finding
    rows: list[IndexedSession]  # the first SESSIONS_SHOWN sessions still in the index
    more: int  # how many more the finding holds


def open_findings_select(*, realm: str) -> QuerySet[Finding]:
    return Finding.objects.filter(realm=realm, closed_at__isnull=True).order_by("-opened_at", "-id")


def _split(key: str) -> tuple[str, bool]:
    session_id, _, kind = key.partition(":")
    return session_id, kind == "offline"


def findings_page_select(*, realm: str) -> list[FindingView]:
    """Open findings, newest first, each with its first sessions read from the index."""
    findings = list(open_findings_select(realm=realm))
    wanted = {_split(key) for f in findings for key in f.sessions[:SESSIONS_SHOWN]}
    by_key: dict[tuple[str, bool], IndexedSession] = {}
    ids = {session_id for session_id, _ in wanted}
    for row in IndexedSession.objects.filter(realm=realm, session_id__in=ids):
        by_key[(row.session_id, row.offline)] = row
    views = []
    for f in findings:
        shown = f.sessions[:SESSIONS_SHOWN]
        rows = [by_key[_split(k)] for k in shown if _split(k) in by_key]
        views.append(FindingView(finding=f, rows=rows, more=len(f.sessions) - len(shown)))
    return views


@dataclass(frozen=True)
class RealmFindings:
    realm: str
    open: int
    high: int


def realms_findings_select(*, realms: list[str] | None = None) -> list[RealmFindings]:
    """Every indexed realm with its count of open findings."""
    names = set(RealmIndex.objects.values_list("realm", flat=True))
    counts: dict[str, tuple[int, int]] = {
        realm: (n, high)
        for realm, n, high in Finding.objects.filter(closed_at__isnull=True)
        .values("realm")
        .annotate(n=Count("id"), high=Count("id", filter=Q(severity="high")))
        .values_list("realm", "n", "high")
    }
    names |= set(counts)
    if realms is not None:
        names &= set(realms)
    return [
        RealmFindings(
            realm=name, open=counts.get(name, (0, 0))[0], high=counts.get(name, (0, 0))[1]
        )
        for name in sorted(names)
    ]


@dataclass(frozen=True)
class EventsSetup:
    """What Keycloak saves of the credential changes the checks read, in words for the page."""

    readable: bool  # False: Keycloak refused or did not answer (view-events is needed)
    user_changes_saved: bool
    admin_resets_saved: bool

    @property
    def blind(self) -> bool:
        return not (self.readable and self.user_changes_saved and self.admin_resets_saved)


def events_setup_select(*, gateway: Gateway, realm: str) -> EventsSetup:
    """Whether the realm saves the events the credential-change check reads (read live)."""
    try:
        config = gateway.events_config(realm)
    except GatewayError:
        return EventsSetup(readable=False, user_changes_saved=False, admin_resets_saved=False)
    return EventsSetup(
        readable=True,
        user_changes_saved=any(config.saves(t) for t in CREDENTIAL_EVENT_TYPES),
        admin_resets_saved=config.admin_events_enabled,
    )
