"""Celery tasks for the session index: thin wrappers around refresh.py."""

import logging
from datetime import datetime

from celery import shared_task

from tokenadmin.core.queue import on_worker_start

from .models import REFRESH_LEASE_S, RealmIndex
from .refresh import realm_index_refresh, realm_index_refresh_all

logger = logging.getLogger(__name__)


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


@on_worker_start("cut-off index refreshes")
def realm_index_refreshes_resume() -> None:
    """Refresh again the realms a refresh holds RUNNING: if that one's worker was killed, its
    lease lapses within REFRESH_LEASE_S and this claim takes over; if it is alive elsewhere,
    the claim finds it running and does nothing."""
    realms = RealmIndex.objects.filter(state=RealmIndex.State.RUNNING).values_list(
        "realm", flat=True
    )
    for realm in list(realms):
        logger.info("refreshing the index of %s again once its lease lapses", realm)
        realm_index_refresh_task.apply_async((realm,), countdown=REFRESH_LEASE_S + 1)
