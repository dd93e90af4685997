"""Celery tasks: thin wrappers taking ids; the functions they call are idempotent."""

import logging
from datetime import datetime

from celery import shared_task
from celery.signals import worker_ready
from django.db import transaction
from django.utils import timezone

from .schedule import TICK_HEADER
from .services import (
    RETRYABLE,
    report_run_for_tick,
    report_run_send,
    report_runs_stranded_release,
)

logger = logging.getLogger(__name__)


@shared_task(bind=True)
def expiry_report_scheduled_task(self, report_id: int) -> None:
    """Beat's entry point, one per report: find or create the slot's run, then send it."""
    stamped = getattr(self.request, TICK_HEADER, None) or (self.request.headers or {}).get(
        TICK_HEADER
    )
    tick_at = datetime.fromisoformat(stamped) if stamped else timezone.now()
    run = report_run_for_tick(report_id=report_id, tick_at=tick_at)
    if run is not None:
        transaction.on_commit(lambda: expiry_report_send_task.delay(run.pk))


@shared_task(
    bind=True,
    autoretry_for=RETRYABLE,
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def expiry_report_send_task(self, run_id: int) -> None:
    report_run_send(run_id=run_id, final_attempt=self.request.retries >= self.max_retries)


@worker_ready.connect
def report_runs_resume(**_kwargs: object) -> None:
    """A starting worker sends again the runs a killed worker left half-sent: Redis only
    re-delivers an unacknowledged task after its visibility timeout (an hour by default)."""
    try:
        run_ids = report_runs_stranded_release()
    except Exception:  # the worker must start even if the database is not there yet
        logger.exception("could not look for report runs stranded by a stopped worker")
        return
    for run_id in run_ids:
        logger.info("sending report run %s again: its worker stopped mid-send", run_id)
        expiry_report_send_task.delay(run_id)
