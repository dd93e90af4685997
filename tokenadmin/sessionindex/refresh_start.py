"""Queuing a refresh from a request ("refresh now"): the claim here, the work on the worker."""

import logging

from django.db import transaction

from .lease import realm_index_claim
from .models import RealmIndex
from .tasks import realm_index_refresh_task

logger = logging.getLogger(__name__)

ERROR_NOT_QUEUED = "The refresh could not be queued: the task queue is unreachable."


def realm_index_refresh_start(*, realm: str) -> RealmIndex:
    """Claim the realm and queue its refresh on the worker ("refresh now").

    Returns the RealmIndex, RUNNING from now on (or the refresh already running). If the task
    queue cannot be reached the claim is turned into a FAILED refresh with a message.
    """
    claimed_at = realm_index_claim(realm=realm)
    if claimed_at is not None:

        def enqueue() -> None:
            try:
                realm_index_refresh_task.delay(realm, claimed_at.isoformat())
            except Exception:
                logger.exception("could not queue the index refresh of %s", realm)
                RealmIndex.objects.filter(realm=realm, started_at=claimed_at).update(
                    state=RealmIndex.State.FAILED, error=ERROR_NOT_QUEUED
                )

        transaction.on_commit(enqueue)
    return RealmIndex.objects.get(realm=realm)
