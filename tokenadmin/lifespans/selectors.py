"""Reads for the lifespans pages and for other features (reports)."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from tokenadmin.accounts.rights import AdminRights
from tokenadmin.keycloak import Gateway
from tokenadmin.keycloak.types import RealmLifespans
from tokenadmin.sessionindex.models import IndexedSession, RealmIndex

from .catalog import LifespanValues
from .diff import FieldChange, SessionRow, lifespans_diff
from .drift import last_approved
from .models import LifespanSnapshot


@dataclass(frozen=True)
class LifespanChange:
    """One change of a realm's lifespans: through tokenadmin, or found by the drift watch."""

    at: datetime  # when it happened (Keycloak's admin event) or, failing that, was recorded
    who: str
    outside_tokenadmin: bool
    changes: list[FieldChange]
    snapshot_id: int


def lifespan_changes_since(realm: str, when: datetime) -> list[LifespanChange]:
    """Every lifespan change of `realm` recorded since `when`, oldest first.

    Saves through tokenadmin come from APPROVED snapshots, outside changes from DRIFT
    snapshots; each lists its fields old → new in human units. Baselines are left out.
    """
    snapshots = LifespanSnapshot.objects.filter(
        realm=realm,
        kind__in=(LifespanSnapshot.Kind.APPROVED, LifespanSnapshot.Kind.DRIFT),
        taken_at__gte=when,
        previous_values__isnull=False,
    ).order_by("taken_at", "id")
    out = []
    for snap in snapshots:
        changes = lifespans_diff(snap.previous_values, snap.values)
        if not changes:
            continue
        out.append(
            LifespanChange(
                at=snap.changed_at or snap.taken_at,
                who=snap.actor_username,
                outside_tokenadmin=snap.kind == LifespanSnapshot.Kind.DRIFT,
                changes=changes,
                snapshot_id=snap.pk,
            )
        )
    return out


@dataclass(frozen=True)
class Drift:
    """The realm's lifespans differ from the last approved snapshot."""

    approved: LifespanSnapshot
    changes: list[FieldChange]
    # The drift watch's record of it, with who and when; None if not yet seen by the watch.
    recorded: LifespanSnapshot | None

    @property
    def who(self) -> str:
        return self.recorded.actor_username if self.recorded else ""

    @property
    def changed_at(self) -> datetime | None:
        if self.recorded is None:
            return None
        return self.recorded.changed_at or self.recorded.taken_at


def lifespans_drift_select(*, realm: str, current: LifespanValues) -> Drift | None:
    """Drift of `current` (live from Keycloak) against the last approved snapshot, if any."""
    approved = last_approved(realm)
    if approved is None or approved.values == current:
        return None
    recorded = (
        LifespanSnapshot.objects.filter(
            realm=realm, kind=LifespanSnapshot.Kind.DRIFT, taken_at__gte=approved.taken_at
        )
        .order_by("-taken_at", "-id")
        .first()
    )
    if recorded is not None and recorded.values != current:
        recorded = None
    return Drift(
        approved=approved, changes=lifespans_diff(approved.values, current), recorded=recorded
    )


def snapshots_select(*, realm: str, limit: int = 20) -> QuerySet[LifespanSnapshot]:
    return LifespanSnapshot.objects.filter(realm=realm).order_by("-taken_at", "-id")[:limit]


def snapshot_get(*, realm: str, snapshot_id: int) -> LifespanSnapshot | None:
    return LifespanSnapshot.objects.filter(realm=realm, pk=snapshot_id).first()


def session_rows_select(*, realm: str) -> Iterator[SessionRow]:
    """The realm's indexed sessions, as the impact preview needs them, streamed."""
    rows = (
        IndexedSession.objects.filter(realm=realm)
        .values_list("offline", "remember_me", "started_at", "last_access_at", "clients")
        .iterator(chunk_size=5000)
    )
    for offline, remember_me, started_at, last_access_at, clients in rows:
        yield SessionRow(
            offline=offline,
            remember_me=remember_me,
            started_at=started_at,
            last_access_at=last_access_at,
            client_uuids=tuple(clients or ()),
        )


def index_refreshed_at(*, realm: str) -> datetime | None:
    index = RealmIndex.objects.filter(realm=realm).first()
    return index.refreshed_at if index else None


@dataclass(frozen=True)
class HistoryRow:
    snapshot: LifespanSnapshot
    changes: list[FieldChange]
    can_roll_back: bool  # its values differ from what Keycloak holds now


def history_rows_select(
    *, realm: str, current: LifespanValues, limit: int = 20
) -> list[HistoryRow]:
    """The realm's snapshots, newest first, each with what it changed and whether it can be
    rolled back to."""
    rows = []
    for snap in snapshots_select(realm=realm, limit=limit):
        changes = lifespans_diff(snap.previous_values, snap.values) if snap.previous_values else []
        rows.append(HistoryRow(snap, changes, can_roll_back=snap.values != current))
    return rows


@dataclass(frozen=True)
class RealmChoice:
    name: str
    display_name: str
    lifespans: RealmLifespans | None


def lifespan_realms_select(*, gateway: Gateway, rights: AdminRights) -> list[RealmChoice]:
    """Realms whose settings the admin may view, master first."""
    return [
        RealmChoice(r.name, r.display_name, r.lifespans)
        for r in sorted(gateway.realms_list(), key=lambda r: (r.name != "master", r.name))
        if rights.can(r.name, "view-realm")
    ]
