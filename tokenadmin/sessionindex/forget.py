"""Keep the local session index honest after a revoke, so the sessions pages stop listing what
Keycloak no longer holds (the next refresh would drop it too, minutes later).

The index's tables have their writers here and in the refresh only: revocation calls these
functions once Keycloak has answered, and never writes IndexedSession itself. Every drop goes
through realm_figures_rows_drop, which takes the rows out of the realm's kept figures too."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from .figures import realm_figures_rows_drop, realm_figures_store
from .models import IndexedSession, RealmIndex
from .tombstones import session_tombstones_add


def indexed_sessions_forget(*, realm: str, session_ids: Iterable[str], offline: bool) -> int:
    """Drop these sessions' index rows; an offline revoke takes its online twin along. Each
    leaves a tombstone, so a refresh that read it before the revoke does not add it back."""
    ids = list(session_ids)
    if not ids:
        return 0
    kinds = (False, True) if offline else (False,)
    session_tombstones_add(realm=realm, keys=[(sid, kind) for sid in ids for kind in kinds])
    rows = IndexedSession.objects.filter(realm=realm, session_id__in=ids)
    if not offline:
        rows = rows.filter(offline=False)
    return realm_figures_rows_drop(realm=realm, rows=rows)


def indexed_user_sessions_forget(*, realm: str, user_id: str) -> int:
    """A user signed out everywhere: their online rows go (offline ones stay listed, stale),
    each leaving a tombstone."""
    rows = IndexedSession.objects.filter(realm=realm, user_id=user_id, offline=False)
    session_tombstones_add(
        realm=realm, keys=[(sid, False) for sid in rows.values_list("session_id", flat=True)]
    )
    return realm_figures_rows_drop(realm=realm, rows=rows)


def indexed_realm_sessions_forget(*, realm: str) -> int:
    """logout-all: every row of the realm goes (Keycloak 26.7's logout-all ends offline
    sessions too), and the realm's index remembers when (one mark instead of a tombstone per
    session), so a refresh running meanwhile does not bring them back."""
    RealmIndex.objects.get_or_create(realm=realm)
    RealmIndex.objects.filter(realm=realm).update(all_signed_out_at=timezone.now())
    with transaction.atomic():
        deleted, _ = IndexedSession.objects.filter(realm=realm).delete()
        realm_figures_store(realm=realm)  # an empty realm: counted at once
    return deleted
