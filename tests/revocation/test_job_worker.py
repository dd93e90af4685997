"""A real Celery worker dies in the middle of a bulk job; the job still finishes exactly."""

import os
import signal
import time

from tests.fixtures.services import celery_worker_running
from tokenadmin.revocation.bulk import Kind, Recipe, revocation_job_create, revocation_plan_build
from tokenadmin.revocation.jobs import job_counts
from tokenadmin.revocation.models import RevocationItem, RevocationJob
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
    assert counts.pending == 0
    assert counts.done + counts.already_gone + counts.failed == total
    assert counts.failed == 0
    kc.clear_faults()
    assert sessions_left(kc) == 0
