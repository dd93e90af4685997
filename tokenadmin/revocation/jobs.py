"""Running a bulk revocation job: resumable, bounded, retrying only what may succeed later.

- **Exactly once per item, counted exactly.** An item is finished by
  `filter(state=PENDING).update(...)`, so it is counted once even if two runs overlap. Items go
  in batches: a batch's items are recorded as sent (`sent_at`) before any DELETE of it leaves,
  and its outcomes are recorded before the next batch is sent. A 404 means "already gone",
  unless this job sent a DELETE for the session before (a run killed before recording it, or
  an earlier try without an answer): then this job revoked it.
- **Stops when it cannot record.** If the database refuses a write (disk full...), the run
  sends no further batch, marks the job STOPPED with the reason, and the task tries again later;
  what it sent is marked sent, so the resumed run counts it as revoked.
- **Resumable.** Only pending items are worked on. A run holds a short lease on the job and
  renews it as it records results; if its worker dies, the next run (the re-delivered task, or
  the one a restarting worker enqueues) takes over once the lease lapses.
- **Bounded.** A small pool of threads talks to Keycloak, one keep-alive connection each; only
  the calling thread touches the database, writing results in batches.
- **Retries** with exponential backoff for transient failures only (no answer, 5xx, 429);
  403/400/401 fail the item at once, with Keycloak's words as the reason.
"""

import logging
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from tokenadmin.keycloak import (
    Gateway,
    GatewayError,
    KeycloakUnavailable,
    NotFound,
    gateway_for_worker,
)
from tokenadmin.keycloak.revocation import SessionDeleter
from tokenadmin.ledger.models import Outcome
from tokenadmin.ledger.services import ledger_entry_create
from tokenadmin.sessionindex.forget import indexed_sessions_forget

from .models import RevocationItem, RevocationJob
from .targets import revocation_job_targets_build

logger = logging.getLogger(__name__)

WORKERS = 8
MAX_ATTEMPTS = 5
BACKOFF_BASE_S = 0.2
BACKOFF_MAX_S = 3.0
LEASE_S = 4
FLUSH_EVERY_S = 0.5
FLUSH_EVERY_ITEMS = 250
# Items marked sent, then sent, then recorded, before the next batch.
BATCH = 250

ERROR_CANNOT_LIST = (
    "Stopped: Keycloak refused to list the sessions to revoke ({reason}). Nothing was revoked; "
    "it tries again every minute."
)
ERROR_CANNOT_RECORD = (
    "Stopped: the job's results could not be recorded ({reason}). Nothing more is sent "
    "until it can record again; it resumes on its own (every minute, and when a worker starts)."
)

Done = RevocationItem.State


class JobBusy(Exception):
    """Another run holds the job's lease; try again after `retry_in_s`."""

    def __init__(self, retry_in_s: float) -> None:
        super().__init__(f"job busy for {retry_in_s:.1f} s")
        self.retry_in_s = retry_in_s


@dataclass(frozen=True)
class ItemResult:
    pk: int
    state: str
    attempts: int
    error: str = ""


@dataclass(frozen=True)
class JobCounts:
    total: int
    pending: int
    done: int
    already_gone: int
    failed: int
    # False while the job is still listing its sessions: `total` is the preview's count.
    listed: bool = True

    @property
    def finished(self) -> int:
        return self.done + self.already_gone + self.failed

    @property
    def percent(self) -> int:
        if not self.listed:
            return 0
        return int(100 * self.finished / self.total) if self.total else 100


def job_counts(job: RevocationJob) -> JobCounts:
    by_state = dict(
        job.items.values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )
    return JobCounts(
        total=job.total,
        pending=by_state.get(Done.PENDING, 0),
        done=by_state.get(Done.DONE, 0),
        already_gone=by_state.get(Done.ALREADY_GONE, 0),
        failed=by_state.get(Done.FAILED, 0),
        listed=job.targets_ready,
    )


def _backoff_s(attempt: int) -> float:
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempt - 1)) * (0.5 + random.random())


def _revoke_one(
    deleter: SessionDeleter, realm: str, pk: int, session_id: str, offline: bool, sent_before: bool
) -> ItemResult:
    """Delete one session, retrying transient failures; never raises.

    A 404 after a DELETE this job sent earlier (`sent_before`: by a run that died before
    recording the answer; or a try here that got no answer) is this job's revoke."""
    last_error = ""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            deleter.delete(realm, session_id, offline=offline)
            return ItemResult(pk, Done.DONE, attempt)
        except NotFound:
            revoked_by_us = sent_before or attempt > 1
            return ItemResult(pk, Done.DONE if revoked_by_us else Done.ALREADY_GONE, attempt)
        except KeycloakUnavailable as exc:
            last_error = f"{exc.title} ({exc.status_text}) {exc.detail}".strip()
        except GatewayError as exc:
            # 400, 401 after signing in again, 403: trying again would get the same answer.
            detail = f" Keycloak said: {exc.detail}" if exc.detail else ""
            return ItemResult(pk, Done.FAILED, attempt, f"{exc.title} ({exc.status_text}).{detail}")
        except Exception as exc:  # a bug must fail the item visibly, not kill the whole run
            logger.exception("revoking session %s failed unexpectedly", session_id)
            return ItemResult(pk, Done.FAILED, attempt, f"Unexpected error: {type(exc).__name__}")
        if attempt < MAX_ATTEMPTS:
            time.sleep(_backoff_s(attempt))
    return ItemResult(
        pk, Done.FAILED, MAX_ATTEMPTS, f"Gave up after {MAX_ATTEMPTS} tries: {last_error}"
    )


def _lease_take(job_id: int, run_id: str) -> RevocationJob | None:
    """Own the job for LEASE_S; None if it is already finished. JobBusy if another run owns it."""
    now = timezone.now()
    taken = (
        RevocationJob.objects.filter(pk=job_id)
        .exclude(state=RevocationJob.State.DONE)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=run_id))
        .update(
            state=RevocationJob.State.RUNNING,
            stopped_reason="",
            lease_owner=run_id,
            lease_until=now + timedelta(seconds=LEASE_S),
            started_at=Coalesce(F("started_at"), now),
        )
    )
    job = RevocationJob.objects.get(pk=job_id)
    if taken:
        return job
    if job.is_done:
        return None
    left = (job.lease_until - now).total_seconds() if job.lease_until else LEASE_S
    raise JobBusy(max(left, 0.5))


def _flush(job: RevocationJob, run_id: str, results: list[ItemResult]) -> bool:
    """Record finished items (each once) and renew the lease; False if the lease was lost."""
    now = timezone.now()
    with transaction.atomic():
        by_state: dict[str, list[int]] = {}
        for result in results:
            if result.state == Done.FAILED:
                RevocationItem.objects.filter(pk=result.pk, state=Done.PENDING).update(
                    state=Done.FAILED, error=result.error, attempts=result.attempts, finished_at=now
                )
            else:
                by_state.setdefault(result.state, []).append(result.pk)
        for state, pks in by_state.items():
            RevocationItem.objects.filter(pk__in=pks, state=Done.PENDING).update(
                state=state, finished_at=now
            )
        gone = list(
            RevocationItem.objects.filter(
                pk__in=[pk for pks in by_state.values() for pk in pks]
            ).values_list("session_id", "offline")
        )
        for offline in (False, True):
            indexed_sessions_forget(
                realm=job.realm,
                session_ids=[sid for sid, o in gone if o == offline],
                offline=offline,
            )
        renewed = RevocationJob.objects.filter(pk=job.pk, lease_owner=run_id).update(
            lease_until=now + timedelta(seconds=LEASE_S)
        )
    results.clear()
    return bool(renewed)


def _finish(job: RevocationJob, run_id: str) -> RevocationJob:
    """Close the job and write its one ledger entry, once, if no item is left pending."""
    with transaction.atomic():
        if job.items.filter(state=Done.PENDING).exists():
            return job
        closed = (
            RevocationJob.objects.filter(pk=job.pk, lease_owner=run_id)
            .exclude(state=RevocationJob.State.DONE)
            .update(
                state=RevocationJob.State.DONE,
                finished_at=timezone.now(),
                lease_owner="",
                lease_until=None,
            )
        )
        job.refresh_from_db()
        if not closed:
            return job
        counts = job_counts(job)
        if counts.failed == 0:
            outcome = Outcome.SUCCEEDED
        elif counts.failed == counts.total:
            outcome = Outcome.FAILED
        else:
            outcome = Outcome.PARTIAL
        entry = ledger_entry_create(
            actor=job.actor,
            actor_username=job.actor_username,
            action=job.action,
            realm=job.realm,
            target_type="bulk_job",
            target_id=str(job.pk),
            target_label=job.label,
            reason=job.reason,
            ticket=job.ticket,
            before={"recipe": job.recipe, "sessions": job.total, "excluded": job.excluded},
            after={
                "revoked": counts.done,
                "already_gone": counts.already_gone,
                "failed": counts.failed,
            },
            outcome=outcome,
            detail=(
                f"{counts.done} revoked, {counts.already_gone} already gone, "
                f"{counts.failed} failed of {counts.total}"
            ),
        )
        RevocationJob.objects.filter(pk=job.pk).update(ledger_entry=entry)
        job.ledger_entry = entry
    return job


def _sent_mark(job: RevocationJob, run_id: str, pks: list[int]) -> bool:
    """Record that DELETEs for these items are about to leave, and renew the lease, before
    they leave; False if the lease was lost (send nothing)."""
    now = timezone.now()
    with transaction.atomic():
        renewed = RevocationJob.objects.filter(pk=job.pk, lease_owner=run_id).update(
            lease_until=now + timedelta(seconds=LEASE_S)
        )
        if renewed:
            RevocationItem.objects.filter(pk__in=pks, sent_at__isnull=True).update(sent_at=now)
    return bool(renewed)


def _lease_renew(job: RevocationJob, run_id: str) -> bool:
    """Keep the job while listing its sessions; False if another run took it over."""
    renewed = RevocationJob.objects.filter(pk=job.pk, lease_owner=run_id).update(
        lease_until=timezone.now() + timedelta(seconds=LEASE_S)
    )
    return bool(renewed)


def _stop(job: RevocationJob, run_id: str, reason: str, why: str = ERROR_CANNOT_RECORD) -> None:
    """Mark the job STOPPED with why; if even that cannot be written, its lease lapses and
    the job page says no worker is running it (RevocationJob.is_stalled)."""
    try:
        RevocationJob.objects.filter(pk=job.pk, lease_owner=run_id).update(
            state=RevocationJob.State.STOPPED,
            stopped_reason=why.format(reason=reason),
            lease_owner="",
            lease_until=None,
        )
    except DatabaseError:
        logger.exception("job %s: could not record that it stopped", job.pk)
    job.refresh_from_db()


def revocation_job_run(
    *,
    job_id: int,
    gateway_factory: Callable[[], Gateway] = gateway_for_worker,
    workers: int = WORKERS,
) -> RevocationJob | None:
    """Work through a job's pending items; returns the job (None if it was already done).

    Batch by batch: mark the batch sent, send its DELETEs with a few threads, record every
    outcome (flushing as they come, which also renews the lease), then the next batch. A
    database error while marking or recording stops the run after the batch in flight (its
    DELETEs are marked sent, so they count as this job's either way): the job is STOPPED with
    the reason. Raises JobBusy while another live run holds the job.
    """
    run_id = uuid.uuid4().hex
    # Signed in before taking the lease: if Keycloak is down, the task retries, holding nothing.
    gateway = gateway_factory()
    deleter = gateway.session_deleter()
    try:
        job = _lease_take(job_id, run_id)
        if job is None:
            return None
        if not job.targets_ready and not _listed(job, run_id, gateway):
            return job
        return _work_through(job, run_id, deleter, workers)
    finally:
        deleter.close()


def _listed(job: RevocationJob, run_id: str, gateway: Gateway) -> bool:
    """List the job's sessions (targets.py); False if it stopped (lease lost, or Keycloak
    refused: a deleted client, missing rights). Keycloak down is left to the task's retry."""
    try:
        listed = revocation_job_targets_build(
            job=job, admin=gateway, keep_going=lambda: _lease_renew(job, run_id)
        )
    except KeycloakUnavailable:
        raise
    except GatewayError as exc:
        logger.warning("job %s: Keycloak refused to list its sessions: %s", job.pk, exc)
        _stop(job, run_id, f"{exc.title}: {exc.what}", why=ERROR_CANNOT_LIST)
        return False
    if not listed:
        logger.warning("job %s: lease taken over while listing its sessions", job.pk)
    return listed


def _pending_batches(job: RevocationJob) -> Iterator[list[tuple]]:
    """The job's pending items, BATCH at a time in id order (a keyset walk: memory stays flat
    at a million items)."""
    after = 0
    while True:
        batch = list(
            job.items.filter(state=Done.PENDING, pk__gt=after)
            .order_by("pk")
            .values_list("pk", "session_id", "offline", "sent_at")[:BATCH]
        )
        if not batch:
            return
        yield batch
        after = batch[-1][0]


def _work_through(
    job: RevocationJob, run_id: str, deleter: SessionDeleter, workers: int
) -> RevocationJob:
    work: queue.SimpleQueue = queue.SimpleQueue()
    done: queue.SimpleQueue = queue.SimpleQueue()

    def worker() -> None:
        # Each thread takes the next item until it is told to stop (None).
        while (item := work.get()) is not None:
            pk, session_id, offline, sent_at = item
            done.put(_revoke_one(deleter, job.realm, pk, session_id, offline, sent_at is not None))

    threads = [
        threading.Thread(target=worker, name=f"revoke-{n}", daemon=True)
        for n in range(min(max(1, workers), max(1, job.total)))
    ]
    for thread in threads:
        thread.start()
    lease_held = True
    cannot_record = ""
    try:
        for batch in _pending_batches(job):
            try:
                lease_held = _sent_mark(job, run_id, [pk for pk, _, _, sent in batch if not sent])
            except DatabaseError as exc:
                cannot_record = str(exc)
                break
            if not lease_held:
                break
            for item in batch:
                work.put(item)
            cannot_record, lease_held = _batch_collect(job, run_id, done, len(batch))
            if cannot_record or not lease_held:
                break
    finally:
        for _ in threads:
            work.put(None)
        for thread in threads:
            thread.join()
    if cannot_record:
        logger.error("job %s: cannot record results, stopping: %s", job.pk, cannot_record)
        _stop(job, run_id, cannot_record)
        return job
    if not lease_held:
        logger.warning("job %s: lease taken over by another run; stopping", job.pk)
        return job
    return _finish(job, run_id)


def _batch_collect(
    job: RevocationJob, run_id: str, done: queue.SimpleQueue, expected: int
) -> tuple[str, bool]:
    """Wait for a batch's `expected` outcomes, recording them every FLUSH_EVERY_S (which
    renews the lease while Keycloak is slow). Returns (why recording failed or "", lease held).
    After a failed write the batch is still waited for, not recorded: its DELETEs are out."""
    results: list[ItemResult] = []
    last_flush = time.monotonic()
    cannot_record = ""
    lease_held = True
    while expected:
        try:
            results.append(done.get(timeout=FLUSH_EVERY_S))
            expected -= 1
            while expected and len(results) < FLUSH_EVERY_ITEMS:
                results.append(done.get_nowait())
                expected -= 1
        except queue.Empty:
            pass
        due = time.monotonic() - last_flush >= FLUSH_EVERY_S
        if not cannot_record and (due or not expected or len(results) >= FLUSH_EVERY_ITEMS):
            try:
                lease_held = _flush(job, run_id, results) and lease_held
            except DatabaseError as exc:
                cannot_record = str(exc)
            last_flush = time.monotonic()
    return cannot_record, lease_held


def revocation_jobs_unfinished() -> list[int]:
    """Jobs a restarting worker should make sure are running (their lease decides who runs)."""
    return list(
        RevocationJob.objects.exclude(state=RevocationJob.State.DONE).values_list("pk", flat=True)
    )


def revocation_job_retry_failed(*, job: RevocationJob) -> int:
    """Put a finished job's failed items back to pending (errors cleared) and reopen the job.

    Its first ledger entry stays; the retry run writes another with the new counts.
    Returns how many items were reopened (0: nothing to retry, the job is left alone).
    """
    with transaction.atomic():
        reopened = RevocationItem.objects.filter(job=job, state=Done.FAILED).update(
            state=Done.PENDING, error="", finished_at=None
        )
        if reopened:
            RevocationJob.objects.filter(pk=job.pk, state=RevocationJob.State.DONE).update(
                state=RevocationJob.State.PENDING, finished_at=None, ledger_entry=None
            )
    return reopened
