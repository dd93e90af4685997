"""Report delivery when the mail server misbehaves, with real servers and real workers:
exactly once where SMTP can tell, at most twice and marked where it cannot."""

import time

import pytest

from tests.fixtures.waiting import wait_for
from tests.reports.conftest import report_create
from tokenadmin.reports.models import ReportRun
from tokenadmin.reports.services import report_run_request
from tokenadmin.reports.tasks import expiry_report_send_task, report_runs_sweep_task

from .conftest import celery_start

RESEND_AFTER_S = 3
LEASE_S = 3
WORKER_ENV = {
    "REPORT_UNCONFIRMED_RESEND_AFTER_S": str(RESEND_AFTER_S),
    "REPORT_SEND_LEASE_S": str(LEASE_S),
    "QUEUE_SWEEP_AFTER_S": "1",
}


@pytest.fixture
def start_worker(redis_server, emulator, faulty_sink, tmp_path, settings, transactional_db):
    """Start real workers (killed or stopped at the end) with WORKER_ENV and `env`."""
    from tests.fixtures.services import celery_app_point_at

    celery_app_point_at(redis_server, settings)
    started = []

    def start(name: str, **env: str):
        worker = celery_start(
            "worker",
            redis=redis_server,
            emulator_url=emulator.base_url,
            mail_port=faulty_sink.port,
            log_path=tmp_path / f"{name}.log",
            env={**WORKER_ENV, **env},
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def run_now(run_id: int, **state) -> ReportRun | None:
    return ReportRun.objects.filter(pk=run_id, **state).first()


def history(client, run: ReportRun) -> str:
    return client.get(f"/reports/{run.report_id}/").content.decode()


def test_a_server_slower_than_the_timeout_gets_the_report_at_most_twice_and_it_says_so(
    kc, faulty_sink, start_worker, client_as
):
    faulty_sink.start("--delay-data-s", "6")  # keeps each mail, answers after 6 s
    start_worker("worker", EMAIL_TIMEOUT_S="1")
    run = report_run_request(report=report_create(send_when_empty=True), actor=None)

    expiry_report_send_task.delay(run.pk)

    first = wait_for(
        lambda: run_now(run.pk, state="possibly_delivered"), what="the unconfirmed send"
    )
    assert (first.attempts, first.copies_possible) == (1, 1)
    assert "did not confirm it" in first.delivery_note
    assert "may have been delivered" in first.delivery_note
    assert "sent once more" in first.delivery_note and "may get it twice" in first.delivery_note
    time.sleep(RESEND_AFTER_S - 1)  # no blind retry in the meantime
    assert len(faulty_sink.received()) == 1
    assert run_now(run.pk).attempts == 1
    page = history(client_as("admin"), run)
    assert "Possibly delivered" in page and "may get it twice" in page

    # The long pause is over: the sweeper sends it once more, and never again.
    time.sleep(1.5)
    report_runs_sweep_task.delay()
    second = wait_for(
        lambda: run_now(run.pk, state="possibly_delivered", copies_possible=2),
        what="the one resend",
    )
    assert second.attempts == 2 and second.next_attempt_at is None
    assert "not sent again" in second.delivery_note
    report_runs_sweep_task.delay()
    time.sleep(3)
    assert len(faulty_sink.received()) == 2
    assert run_now(run.pk).attempts == 2


def test_a_server_that_dies_after_keeping_the_mail_is_not_retried_blindly(
    kc, faulty_sink, start_worker
):
    faulty_sink.start("--exit-on-data")  # keeps the mail, dies before answering
    start_worker("worker")
    run = report_run_request(report=report_create(send_when_empty=True), actor=None)

    expiry_report_send_task.delay(run.pk)

    unconfirmed = wait_for(
        lambda: run_now(run.pk, state="possibly_delivered"), what="the unconfirmed send"
    )
    assert "did not confirm it" in unconfirmed.error
    assert len(faulty_sink.received()) == 1
    faulty_sink.start()  # a healthy server again
    time.sleep(RESEND_AFTER_S + 0.5)
    report_runs_sweep_task.delay()
    sent = wait_for(lambda: run_now(run.pk, state="sent"), what="the resend")
    assert (sent.attempts, sent.copies_possible) == (2, 2)
    assert "may have it twice" in sent.delivery_note
    assert len(faulty_sink.received()) == 2


def test_a_server_that_hangs_up_before_the_content_is_retried_and_sends_exactly_once(
    kc, faulty_sink, start_worker
):
    faulty_sink.start("--drop-on-data")
    start_worker("worker")
    run = report_run_request(report=report_create(send_when_empty=True), actor=None)

    expiry_report_send_task.delay(run.pk)

    retrying = wait_for(
        lambda: run_now(run.pk, state="pending", attempts__gte=2), what="two refused attempts"
    )
    assert "SMTPServerDisconnected" in retrying.error and retrying.copies_possible == 0
    assert faulty_sink.received() == []
    faulty_sink.stop()
    faulty_sink.start()
    sent = wait_for(lambda: run_now(run.pk, state="sent"), what="the retry to get through")
    assert (sent.copies_possible, sent.delivery_note) == (1, "")
    time.sleep(2)
    assert len(faulty_sink.received()) == 1


def test_a_worker_killed_after_the_server_kept_the_mail_leaves_it_marked_then_sent_once_more(
    kc, faulty_sink, start_worker, client_as
):
    # The server keeps the mail on receipt and answers late; the worker dies waiting.
    faulty_sink.start("--delay-data-s", "60")
    first_worker = start_worker("first", EMAIL_TIMEOUT_S="30")
    run = report_run_request(report=report_create(send_when_empty=True), actor=None)
    expiry_report_send_task.delay(run.pk)
    wait_for(lambda: faulty_sink.received(), what="the server to have the mail")

    first_worker.kill()
    faulty_sink.stop()
    faulty_sink.start()
    assert run_now(run.pk).state == "sending"
    time.sleep(LEASE_S)  # the dead worker's claim runs out
    start_worker("second")

    marked = wait_for(
        lambda: run_now(run.pk, state="possibly_delivered"),
        timeout_s=10,
        what="the run to be settled as possibly delivered",
    )
    assert "The worker stopped after handing the message" in marked.delivery_note
    assert len(faulty_sink.received()) == 1
    time.sleep(RESEND_AFTER_S + 0.5)
    report_runs_sweep_task.delay()
    sent = wait_for(lambda: run_now(run.pk, state="sent"), what="the one resend")
    assert sent.copies_possible == 2
    assert len(faulty_sink.received()) == 2
    assert "Sent, maybe twice" in history(client_as("admin"), run)


def test_a_worker_killed_before_the_content_went_out_is_followed_by_exactly_one_mail(
    kc, faulty_sink, start_worker
):
    faulty_sink.start("--delay-rcpt-s", "60")  # stalls before any content
    first_worker = start_worker("first", EMAIL_TIMEOUT_S="30")
    run = report_run_request(report=report_create(send_when_empty=True), actor=None)
    expiry_report_send_task.delay(run.pk)
    wait_for(lambda: run_now(run.pk, state="sending"), what="the send to start")
    time.sleep(1.5)  # the worker now waits on RCPT

    first_worker.kill()
    faulty_sink.stop()
    faulty_sink.start()
    time.sleep(LEASE_S)
    start_worker("second")

    sent = wait_for(lambda: run_now(run.pk, state="sent"), what="the run to be sent")
    assert (sent.attempts, sent.copies_possible, sent.delivery_note) == (2, 1, "")
    time.sleep(2)
    assert len(faulty_sink.received()) == 1


def test_a_run_retrying_when_its_worker_died_is_sent_after_the_restart(
    kc, faulty_sink, start_worker
):
    first_worker = start_worker("first")  # the mail server is down: connection refused
    run = report_run_request(report=report_create(send_when_empty=True), actor=None)
    expiry_report_send_task.delay(run.pk)
    retrying = wait_for(
        lambda: run_now(run.pk, state="pending", attempts__gte=3), what="three failed attempts"
    )
    assert "ConnectionRefusedError" in retrying.error and retrying.next_attempt_at

    first_worker.kill()  # with the next attempt in its hands
    faulty_sink.start()
    start_worker("second")

    sent = wait_for(lambda: run_now(run.pk, state="sent"), timeout_s=20, what="the retry")
    assert sent.copies_possible == 1
    time.sleep(2)
    assert len(faulty_sink.received()) == 1
