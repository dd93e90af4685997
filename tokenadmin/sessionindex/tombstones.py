"""Tombstones of revoked sessions: what a revoke removed from the index stays removed.

A refresh reads Keycloak page by page for a while; a session revoked after its page was read
would come back with the refresh's write. Revokes leave a tombstone with the time; the refresh
leaves out every session whose tombstone is newer than the last page that listed it.
"""

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from .models import SessionTombstone


def session_tombstones_add(
    *, realm: str, keys: Iterable[tuple[str, bool]], revoked_at: datetime | None = None
) -> None:
    """Record (session id, offline) keys as revoked now (or at `revoked_at`)."""
    at = revoked_at or timezone.now()
    rows = [
        SessionTombstone(realm=realm, session_id=session_id, offline=offline, revoked_at=at)
        for session_id, offline in keys
    ]
    if rows:
        SessionTombstone.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["realm", "session_id", "offline"],
            update_fields=["revoked_at"],
        )


def session_tombstones_since(*, realm: str, since: datetime) -> dict[tuple[str, bool], datetime]:
    """{(session id, offline): revoked at} of the realm's revokes at or after `since`."""
    rows = SessionTombstone.objects.filter(realm=realm, revoked_at__gte=since)
    return {
        (session_id, offline): at
        for session_id, offline, at in rows.values_list("session_id", "offline", "revoked_at")
    }


def session_tombstones_prune(*, realm: str, before: datetime) -> int:
    """Drop tombstones older than `before`: a refresh claimed after a revoke reads every page
    after it, so Keycloak no longer lists the session to it."""
    deleted, _ = SessionTombstone.objects.filter(realm=realm, revoked_at__lt=before).delete()
    return deleted
