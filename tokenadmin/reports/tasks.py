"""Celery tasks: thin wrappers taking ids; the functions they call are idempotent.

Retries are kept in the database (ReportRun.next_attempt_at), not only in Celery: a retry
Celery holds dies with its worker (Redis re-delivers it only after its visibility timeout, an
hour), so the sweeper and every starting worker queue again what the database says is due.
"""

import logging
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tokenadmin.core.queue import on_worker_start

from .delivery import DeliveryUncertain
from .models import ReportRun
from .schedule import TICK_HEADER
from .services import (
    RETRYABLE,
    report_run_for_tick,
    report_run_send,
    report_runs_due,
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


@shared_task
def expiry_report_send_task(run_id: int) -> None:
    """Send one run; a retryable failure queues the next attempt for when the run says."""
    try:
        report_run_send(run_id=run_id)
    except DeliveryUncertain as exc:
        logger.warning("report run %s possibly delivered: %s", run_id, exc)
    except RETRYABLE as exc:
        due = (
            ReportRun.objects.filter(pk=run_id, state=ReportRun.State.PENDING)
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        logger.warning("report run %s failed (%s); next attempt at %s", run_id, exc, due)
        if due is not None:
            expiry_report_send_task.apply_async(args=(run_id,), eta=due)


def report_runs_queue(*, overdue_s: float) -> list[int]:
    """Settle the runs whose worker died, then queue every run that is due (see
    report_runs_due); the claim in report_run_send makes a duplicate send nothing."""
    again = report_runs_stranded_release()
    due = sorted(set(again) | set(report_runs_due(overdue_s=overdue_s)))
    for run_id in due:
        logger.info("queuing report run %s: it is due and no task has sent it", run_id)
        expiry_report_send_task.delay(run_id)
    return due


@shared_task
def report_runs_sweep_task() -> list[int]:
    """Beat's sweeper: runs whose task was lost (Redis down at "send now", a retry held by a
    killed worker, a worker killed mid-send) are sent once they are due."""
    return report_runs_queue(overdue_s=settings.QUEUE_SWEEP_AFTER_S)


@on_worker_start("report runs left unsent by a stopped worker")
def report_runs_resume() -> None:
    """Send what is due now, and queue again the retries not due yet: the worker that held
    them may be the one that died."""
    report_runs_queue(overdue_s=0)
    for run_id, due in ReportRun.objects.filter(
        state=ReportRun.State.PENDING, next_attempt_at__gt=timezone.now()
    ).values_list("pk", "next_attempt_at"):
        if due is not None:  # always set: the filter above needs it
            expiry_report_send_task.apply_async(args=(run_id,), eta=due)
