"""A bulk job whose worker dies, or whose database fills up, still finishes with exact counts."""

import os
import signal
import time

import pytest
from django.db import connection
from django.urls import reverse

from tests.fixtures.services import celery_worker_running
from tokenadmin.ledger.models import LedgerEntry
from tokenadmin.revocation.bulk import Kind, Recipe, revocation_job_create, revocation_plan_build
from tokenadmin.revocation.jobs import job_counts, revocation_job_run
from tokenadmin.revocation.models import RevocationItem, RevocationJob
from tokenadmin.revocation.targets import revocation_job_targets_build
from tokenadmin.revocation.tasks import revocation_job_run_task


def wait_until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def sessions_left(kc) -> int:
    admin = kc.admin("mlflow")
    uuid = admin.get_client_id("mlflow")
    base = f"admin/realms/mlflow/clients/{uuid}"
    online = admin.connection.raw_get(f"{base}/session-count").json()["count"]
    offline = admin.connection.raw_get(f"{base}/offline-session-count").json()["count"]
    return online + offline


def test_a_job_survives_its_worker_being_killed_with_exact_counts(
    kc, acting_as, celery_worker, redis_server, emulator, mail_sink, tmp_path, settings
):
    kc.seed(realm="mlflow", users=200, sessions=2000, clients=["mlflow"])
    operator = acting_as("operator")
    recipe = Recipe(kind=Kind.CLIENT, client_id="mlflow", include_offline=True)
    plan = revocation_plan_build(
        admin=operator.gateway, realm="mlflow", recipe=recipe, own_session_id=operator.session_id
    )
    job = revocation_job_create(plan=plan, actor=operator.user, reason="client secret leaked")
    assert revocation_job_targets_build(job=job, admin=operator.gateway)
    total = job.total
    assert total == sessions_left(kc) >= 2000
    # Slow Keycloak down so the worker is mid-way when it dies.
    kc.fault(path=r"/admin/realms/mlflow/sessions/", method="DELETE", latency_ms=15)

    revocation_job_run_task.delay(job.pk)
    finished = RevocationItem.objects.filter(job=job).exclude(state=RevocationItem.State.PENDING)
    wait_until(lambda: finished.count() >= 200, 30, "the job to get going")
    os.killpg(celery_worker.process.pid, signal.SIGKILL)
    celery_worker.process.wait()
    halfway = job_counts(job)
    assert 0 < halfway.pending < total

    with celery_worker_running(
        redis=redis_server,
        emulator_url=emulator.base_url,
        mail_port=mail_sink.port,
        log_path=tmp_path / "worker-2.log",
        name="restarted",
        settings=settings,
    ):
        wait_until(
            lambda: RevocationJob.objects.get(pk=job.pk).is_done, 60, "the resumed job to finish"
        )

    counts = job_counts(job)
    print(f"killed at {halfway}; after the restart {counts}")
    assert counts.pending == 0
    # Every session was alive when the job started and only this job revoked them: a DELETE
    # sent before the kill and answered 404 after the restart is still this job's revoke.
    assert (counts.done, counts.already_gone, counts.failed) == (total, 0, 0)
    kc.clear_faults()
    assert sessions_left(kc) == 0
    entry = LedgerEntry.objects.get(pk=RevocationJob.objects.get(pk=job.pk).ledger_entry_id)
    assert entry.after == {"revoked": total, "already_gone": 0, "failed": 0}


def mlflow_job(kc, acting_as) -> RevocationJob:
    operator = acting_as("operator")
    recipe = Recipe(kind=Kind.CLIENT, client_id="mlflow", include_offline=True)
    plan = revocation_plan_build(
        admin=operator.gateway, realm="mlflow", recipe=recipe, own_session_id=operator.session_id
    )
    job = revocation_job_create(plan=plan, actor=operator.user, reason="client secret leaked")
    assert revocation_job_targets_build(job=job, admin=operator.gateway)
    return job


@pytest.mark.django_db(transaction=True)
def test_a_job_that_cannot_record_stops_and_says_why_then_resumes_with_exact_counts(
    kc, acting_as, client_as
):
    kc.seed(realm="mlflow", users=200, sessions=2000, clients=["mlflow"])
    job = mlflow_job(kc, acting_as)
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
    assert total - sessions_left(kc) == sent
    page = client_as("operator").get(reverse("revocation:job", args=[job.pk]))
    assert "could not be recorded (database or disk is full)" in page.content.decode()

    raw.execute("PRAGMA max_page_count = 1073741823")  # space is back
    revocation_job_run(job_id=job.pk)

    job.refresh_from_db()
    counts = job_counts(job)
    print(f"stopped with {sent} sent; after space returned {counts}")
    assert job.is_done and not job.stopped_reason
    assert (counts.done, counts.already_gone, counts.failed) == (total, 0, 0)
    assert sessions_left(kc) == 0
    assert LedgerEntry.objects.get(pk=job.ledger_entry_id).after == {
        "revoked": total,
        "already_gone": 0,
        "failed": 0,
    }
