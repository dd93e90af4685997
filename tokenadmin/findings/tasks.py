"""Celery: the checks after each index refresh, and on demand."""

import logging
from typing import Any

from celery import shared_task

from tokenadmin.keycloak import gateway_for_worker

from .services import findings_run
from .signals import findings_ran

logger = logging.getLogger(__name__)

REFRESH_ONE = "tokenadmin.sessionindex.tasks.realm_index_refresh_task"
REFRESH_ALL = "tokenadmin.sessionindex.tasks.realm_index_refresh_all_task"
DONE = "done"  # RealmIndex.State.DONE: only a completed refresh is worth checking


def findings_run_and_announce(*, realm: str) -> dict[str, int]:
    """Run the realm's checks, then tell the apps that act on findings (alerts, policies)."""
    counts = findings_run(realm=realm, gateway=gateway_for_worker())
    findings_ran.send(sender=findings_run, realm=realm)
    return counts


@shared_task
def findings_run_task(realm: str) -> dict[str, int]:
    return findings_run_and_announce(realm=realm)


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
