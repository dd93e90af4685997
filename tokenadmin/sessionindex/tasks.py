"""Celery tasks for the session index: thin wrappers around refresh.py."""

from datetime import datetime

from celery import shared_task

from .refresh import realm_index_refresh, realm_index_refresh_all


@shared_task
def realm_index_refresh_task(realm: str, claimed_at: str | None = None) -> str:
    """Refresh one realm's index as the worker; `claimed_at` is a claim's ISO stamp, if any.

    No retries: a failed refresh is recorded on its RealmIndex and the next tick tries again.
    """
    index = realm_index_refresh(
        realm=realm, claimed_at=datetime.fromisoformat(claimed_at) if claimed_at else None
    )
    return index.state


@shared_task
def realm_index_refresh_all_task() -> dict[str, str]:
    """The schedule: refresh every realm the worker's service account can see."""
    return {index.realm: index.state for index in realm_index_refresh_all()}
