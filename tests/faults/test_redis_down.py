"""Redis stopped (a real redis-server of the test's own) while admins start work: every start
answers at once and says what happens; work recorded in the database runs by itself once
Redis is back, with the same worker and beat, no restart; nothing stays pending."""

import time

from django.urls import reverse

from tests.fixtures.waiting import wait_for
from tests.reports.conftest import report_create
from tokenadmin.reports.models import ReportRun
from tokenadmin.reports.views import QUEUE_UNREACHABLE as REPORT_QUEUE_UNREACHABLE
from tokenadmin.revocation.models import RevocationJob
from tokenadmin.revocation.views import QUEUE_UNREACHABLE as JOB_QUEUE_UNREACHABLE
from tokenadmin.sessionindex.refresh_start import ERROR_NOT_QUEUED

from .conftest import celery_start

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/sessions/mlflow/"}
SWEEP_ENV = {"QUEUE_SWEEP_EVERY_S": "2", "QUEUE_SWEEP_AFTER_S": "2"}


def timed(call, *args, **kwargs):
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def test_work_started_while_redis_is_down_is_accepted_at_once_and_runs_once_it_is_back(
    kc, client_as, own_redis, faulty_sink, emulator, tmp_path, transactional_db
):
    kc.seed(realm="mlflow", users=20, sessions=60, offline_ratio=0, clients=["mlflow"])
    faulty_sink.start()
    services = {
        kind: celery_start(
            kind,
            redis=own_redis.server,
            emulator_url=emulator.base_url,
            mail_port=faulty_sink.port,
            log_path=tmp_path / f"{kind}.log",
            env=SWEEP_ENV,
        )
        for kind in ("worker", "beat")
    }
    try:
        client = client_as("admin")
        report = report_create(send_when_empty=True, enabled=False)
        preview = client.get(
            reverse("revocation:bulk-preview", args=["mlflow"]),
            {"kind": "client", "client": "mlflow"},
        )
        plan = preview.context["form"]["plan"].value()

        own_redis.stop()

        sent, send_s = timed(
            client.post, reverse("reports:send-now", args=[report.pk]), follow=True
        )
        started, start_s = timed(
            client.post,
            reverse("revocation:bulk-start", args=["mlflow"]),
            {"plan": plan, "reason": "leaked secret"},
            follow=True,
        )
        refresh, refresh_s = timed(client.post, "/sessions/mlflow/index/refresh", headers=HTMX)

        assert send_s < 3 and start_s < 3 and refresh_s < 3
        assert sent.status_code == 200 and REPORT_QUEUE_UNREACHABLE in sent.content.decode()
        assert started.status_code == 200 and JOB_QUEUE_UNREACHABLE in started.content.decode()
        assert refresh.status_code == 200 and ERROR_NOT_QUEUED in refresh.content.decode()
        run = ReportRun.objects.get(report=report)
        job = RevocationJob.objects.get()
        assert (run.state, job.state) == ("pending", "pending")
        assert job.total > 25  # a queued job, not one run in the request

        own_redis.start()  # the same worker and beat carry on

        wait_for(lambda: run_now_sent(run), timeout_s=60, what="the report to be sent")
        wait_for(
            lambda: RevocationJob.objects.get(pk=job.pk).is_done,
            timeout_s=60,
            what="the job to run",
        )
        assert all(service.process.poll() is None for service in services.values())
        assert len(faulty_sink.received()) == 1
        assert not ReportRun.objects.filter(state__in=["pending", "sending"]).exists()
    finally:
        for service in services.values():
            service.stop()


def run_now_sent(run: ReportRun) -> bool:
    return ReportRun.objects.filter(pk=run.pk, state="sent").exists()
