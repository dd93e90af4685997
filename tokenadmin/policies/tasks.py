"""Celery: the policies after each task that ran a realm's findings."""

import logging
from typing import Any

from tokenadmin.findings.tasks import DONE, REFRESH_ALL, REFRESH_ONE

from .runs import policies_after_findings_run

logger = logging.getLogger(__name__)

FINDINGS_RUN = "tokenadmin.findings.tasks.findings_run_task"


def _realms_checked(task_name: str, args: Any, kwargs: Any, retval: Any, state: Any) -> list[str]:
    """The realms whose findings a finished task just ran (as findings/tasks.py decides)."""
    if task_name in (REFRESH_ONE, FINDINGS_RUN):
        if (task_name == REFRESH_ONE and retval != DONE) or state not in (None, "SUCCESS"):
            return []
        realm = (args or [None])[0] or (kwargs or {}).get("realm")
        return [realm] if realm else []
    if task_name == REFRESH_ALL and isinstance(retval, dict):
        return [realm for realm, state in retval.items() if state == DONE]
    return []


def policies_after_task(
    *,
    task_name: str,
    args: Any = None,
    kwargs: Any = None,
    retval: Any = None,
    state: Any = None,
    **_: Any,
) -> None:
    """After a task that ran a realm's findings, run the realm's policies, in the same worker.
    Findings' own receiver runs first (connected earlier), so the findings are fresh."""
    for realm in _realms_checked(task_name, args, kwargs, retval, state):
        try:
            policies_after_findings_run(realm=realm)
        except Exception:
            # A failed policy must not fail the refresh; the next refresh runs it again.
            logger.exception("the revocation policies of %s failed", realm)
