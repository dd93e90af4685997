"""Celery tasks: ids in, one call to jobs.py; the job itself is resumable and idempotent."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from tokenadmin.core.queue import on_worker_start
from tokenadmin.keycloak import KeycloakUnavailable

from .jobs import JobBusy, revocation_job_run, revocation_jobs_unfinished
from .models import RevocationJob
from .selectors import revocation_jobs_waiting

# Seconds before a job that stopped (it could not record its results) tries again.
STOPPED_RETRY_S = 60

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(KeycloakUnavailable,),
    retry_backoff=True,
    max_retries=10,
)
def revocation_job_run_task(self, job_id: int) -> None:
    try:
        job = revocation_job_run(job_id=job_id)
    except JobBusy as busy:
        # Another run holds the lease; if its worker died, the lease lapses and we take over.
        raise self.retry(countdown=busy.retry_in_s, max_retries=100) from None
    if job is not None and job.state == RevocationJob.State.STOPPED:
        # It could not record its results (disk full...): try again once space may be back.
        raise self.retry(countdown=STOPPED_RETRY_S, max_retries=60)


@on_worker_start("unfinished revocation jobs")
def revocation_jobs_resume() -> None:
    """Queue again every unfinished job. The job's lease makes a duplicate harmless: it waits,
    then finds the job done."""
    for job_id in revocation_jobs_unfinished():
        logger.info("resuming revocation job %s", job_id)
        revocation_job_run_task.delay(job_id)


@shared_task
def revocation_jobs_sweep_task() -> list[int]:
    """Beat's sweeper: queue again the jobs whose task was lost (see revocation_jobs_waiting),
    so a job accepted while Redis was down starts once it is back, without a worker restart."""
    older_than = timezone.now() - timedelta(seconds=settings.QUEUE_SWEEP_AFTER_S)
    job_ids = revocation_jobs_waiting(older_than=older_than)
    for job_id in job_ids:
        logger.info("queuing revocation job %s again: it has waited too long", job_id)
        revocation_job_run_task.delay(job_id)
    return job_ids
