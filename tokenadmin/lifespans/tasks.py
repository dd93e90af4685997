"""Celery tasks of the lifespans app: thin wrappers."""

from celery import shared_task

from tokenadmin.keycloak import KeycloakUnavailable

from .drift import lifespans_drift_watch


@shared_task(autoretry_for=(KeycloakUnavailable,), retry_backoff=True, max_retries=3)
def lifespans_drift_watch_task() -> dict[str, bool]:
    """The schedule (migration 0002): snapshot every realm's lifespans, record drift."""
    return lifespans_drift_watch()
