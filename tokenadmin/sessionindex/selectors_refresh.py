"""Reads for the index's freshness and the running refresh."""

from .models import RealmIndex


def realm_index_get(*, realm: str) -> RealmIndex | None:
    """The realm's freshness row, or None if it was never refreshed nor claimed."""
    return RealmIndex.objects.filter(realm=realm).first()
