"""Celery: the checks after each index refresh, and on demand."""

import logging
from typing import Any

from celery import shared_task

from tokenadmin.core.queue import task_enqueue
from tokenadmin.keycloak import gateway_for_worker

from .services import findings_run
from .signals import findings_ran

logger = logging.getLogger(__name__)

REFRESH_ONE = "tokenadmin.sessionindex.tasks.realm_index_refresh_task"
REFRESH_ALL = "tokenadmin.sessionindex.tasks.realm_index_refresh_all_task"
DONE = "done"  # RealmIndex.State.DONE: only a completed refresh is worth checking


def findings_announce(*, realm: str) -> None:
    """Tell the apps that act on findings (alerts, policies) that the realm's checks ran."""
    findings_ran.send(sender=findings_run, realm=realm)


def findings_run_and_announce(*, realm: str) -> dict[str, int]:
    """Run the realm's checks, then announce them."""
    counts = findings_run(realm=realm, gateway=gateway_for_worker())
    findings_announce(realm=realm)
    return counts


@shared_task
def findings_run_task(realm: str) -> dict[str, int]:
    return findings_run_and_announce(realm=realm)


@shared_task
def findings_announce_task(realm: str) -> None:
    findings_announce(realm=realm)


def findings_announce_enqueue(*, realm: str) -> bool:
    """After a run in a web request ("run checks now", new thresholds): announce it on a
    worker, as a refresh does, so no policy runs (and no revocation job starts) inside the
    request. False when the task queue is unreachable: alerts and policies then hear of these
    findings after the next refresh."""
    return task_enqueue(findings_announce_task, realm)


def findings_after_refresh(
    *, task_name: str, args: Any = None, kwargs: Any = None, retval: Any = None, **_: Any
) -> None:
    """Run the checks of each realm a refresh task just completed, in the same worker."""
    if task_name == REFRESH_ONE and retval == DONE:
        realm = (args or [None])[0] or (kwargs or {}).get("realm")
        realms = [realm] if realm else []
    elif task_name == REFRESH_ALL and isinstance(retval, dict):
        realms = [realm for realm, state in retval.items() if state == DONE]
    else:
        return
    for realm in realms:
        try:
            findings_run_and_announce(realm=realm)
        except Exception:
            # A failed check must not fail the refresh; the next refresh runs them again.
            logger.exception("the findings checks of %s failed", realm)
