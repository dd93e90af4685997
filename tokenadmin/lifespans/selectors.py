"""Reads for the lifespans pages and for other features (reports)."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator

from tokenadmin.accounts.rights import AdminRights
from tokenadmin.keycloak import Gateway
from tokenadmin.keycloak.types import RealmLifespans
from tokenadmin.sessionindex.models import IndexedSession, RealmIndex

from .catalog import FIELDS, LifespanValues, value_text
from .diff import FieldChange, SessionRow, lifespans_diff
from .drift import last_approved, last_drift_since
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
        changes = lifespans_diff(snap.previous_values or {}, snap.values)
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
    recorded = last_drift_since(approved)
    if recorded is not None and recorded.values != current:
        recorded = None
    return Drift(
        approved=approved, changes=lifespans_diff(approved.values, current), recorded=recorded
    )


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


HISTORY_PAGE_SIZE = 10


@dataclass(frozen=True)
class HistoryRow:
    snapshot: LifespanSnapshot
    changes: list[FieldChange]  # what the change recorded by this snapshot did
    values: list[tuple[str, str]]  # the snapshot's values: [(label, text)] in catalog order
    rollback_to: LifespanSnapshot | None  # the snapshot holding the values before the change
    rollback_changes: list[FieldChange]  # what rolling back would set, from Keycloak's now

    @property
    def can_roll_back(self) -> bool:  # the values it goes back to differ from Keycloak's now
        return self.rollback_to is not None and bool(self.rollback_changes)


def _rollback_target(snap: LifespanSnapshot) -> LifespanSnapshot | None:
    """The snapshot that holds the values this change replaced: a save's "before" snapshot, or
    the approved values a drift left. A baseline (nothing replaced) goes back to itself."""
    if not snap.previous_values:
        return snap
    earlier = LifespanSnapshot.objects.filter(realm=snap.realm, pk__lt=snap.pk).order_by("-pk")
    return next((e for e in earlier[:20] if e.values == snap.previous_values), None)


def _history_row(snap: LifespanSnapshot, current: LifespanValues) -> HistoryRow:
    changes = lifespans_diff(snap.previous_values, snap.values) if snap.previous_values else []
    values = [(f.label, value_text(f, snap.values.get(f.name))) for f in FIELDS]
    target = _rollback_target(snap)
    rollback_changes = lifespans_diff(current, target.values) if target else []
    return HistoryRow(snap, changes, values, target, rollback_changes)


def history_page_select(*, realm: str, current: LifespanValues, number: str | int | None) -> Page:
    """One page of the realm's history, newest first, one row per change: a save's "before"
    snapshot is not a change of its own (its row's roll back goes to it). `page.rows` holds
    the HistoryRows."""
    snapshots = (
        LifespanSnapshot.objects.filter(realm=realm)
        .exclude(kind=LifespanSnapshot.Kind.BEFORE_SAVE)
        .order_by("-taken_at", "-id")
    )
    page = Paginator(snapshots, HISTORY_PAGE_SIZE).get_page(number)
    page.rows = [_history_row(snap, current) for snap in page.object_list]  # type: ignore[attr-defined]
    return page


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
