"""A bulk job whose worker dies, or whose database fills up, still finishes with exact counts."""

import os
import signal

import pytest
from django.db import connection
from django.urls import reverse

from tests.fixtures.jobs import client_job, client_sessions_count
from tests.fixtures.waiting import wait_for
from tokenadmin.ledger.models import LedgerEntry
from tokenadmin.revocation.jobs import job_counts, revocation_job_run
from tokenadmin.revocation.models import RevocationItem, RevocationJob
from tokenadmin.revocation.tasks import revocation_job_run_task


def test_a_job_survives_its_worker_being_killed_with_exact_counts(
    kc, acting_as, celery_worker, worker_start, mail_sink
):
    kc.seed(realm="mlflow", users=200, sessions=2000, clients=["mlflow"])
    job = client_job(acting_as("operator"), reason="client secret leaked")
    total = job.total
    assert total == client_sessions_count(kc) >= 2000
    # Slow Keycloak down so the worker is mid-way when it dies.
    kc.fault(path=r"/admin/realms/mlflow/sessions/", method="DELETE", latency_ms=15)

    revocation_job_run_task.delay(job.pk)
    finished = RevocationItem.objects.filter(job=job).exclude(state=RevocationItem.State.PENDING)
    wait_for(lambda: finished.count() >= 200, timeout_s=30, what="the job to get going")
    os.killpg(celery_worker.process.pid, signal.SIGKILL)
    celery_worker.process.wait()
    halfway = job_counts(job)
    assert 0 < halfway.pending < total

    with worker_start("restarted", mail_port=mail_sink.port):
        wait_for(
            lambda: RevocationJob.objects.get(pk=job.pk).is_done,
            timeout_s=60,
            what="the resumed job to finish",
        )

    counts = job_counts(job)
    print(f"killed at {halfway}; after the restart {counts}")
    assert counts.pending == 0
    # Every session was alive when the job started and only this job revoked them: a DELETE
    # sent before the kill and answered 404 after the restart is still this job's revoke.
    assert (counts.done, counts.already_gone, counts.failed) == (total, 0, 0)
    kc.clear_faults()
    assert client_sessions_count(kc) == 0
    entry = LedgerEntry.objects.get(pk=RevocationJob.objects.get(pk=job.pk).ledger_entry_id)
    assert entry.after == {"revoked": total, "already_gone": 0, "failed": 0}


@pytest.mark.sqlite_only  # the database fills up: SQLite's max_page_count
@pytest.mark.django_db(transaction=True)
def test_a_job_that_cannot_record_stops_and_says_why_then_resumes_with_exact_counts(
    kc, acting_as, client_as
):
    kc.seed(realm="mlflow", users=200, sessions=2000, clients=["mlflow"])
    job = client_job(acting_as("operator"), reason="client secret leaked")
    total = job.total
    raw = connection.connection
    # A full disk as SQLite meets it: after two batches the file may not grow any more, and
    # VACUUM first left it no free page to reuse.
    connection.cursor().execute("VACUUM")
    marks = 0

    def disk_fills_after_two_batches(execute, sql, params, many, context):
        nonlocal marks
        if sql.startswith("UPDATE") and "sent_at" in sql:
            marks += 1
            if marks == 3:
                (pages,) = raw.execute("PRAGMA page_count").fetchone()
                raw.execute(f"PRAGMA max_page_count = {pages}")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(disk_fills_after_two_batches):
        stopped = revocation_job_run(job_id=job.pk)

    assert stopped.state == RevocationJob.State.STOPPED
    assert "database or disk is full" in stopped.stopped_reason
    sent = RevocationItem.objects.filter(job=job, sent_at__isnull=False).count()
    # Nothing went out that is not marked sent: the run stopped instead of revoking unrecorded.
    assert 0 < sent < total
    assert total - client_sessions_count(kc) == sent
    page = client_as("operator").get(reverse("revocation:job", args=[job.pk]))
    assert "could not be recorded (database or disk is full)" in page.content.decode()

    raw.execute("PRAGMA max_page_count = 1073741823")  # space is back
    revocation_job_run(job_id=job.pk)

    job.refresh_from_db()
    counts = job_counts(job)
    print(f"stopped with {sent} sent; after space returned {counts}")
    assert job.is_done and not job.stopped_reason
    assert (counts.done, counts.already_gone, counts.failed) == (total, 0, 0)
    assert client_sessions_count(kc) == 0
    assert LedgerEntry.objects.get(pk=job.ledger_entry_id).after == {
        "revoked": total,
        "already_gone": 0,
        "failed": 0,
    }
