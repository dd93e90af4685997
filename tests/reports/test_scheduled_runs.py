"""Scheduled reports end to end: real Redis, a real worker and beat, a real SMTP sink."""

import csv
import gzip
import io
import time
from datetime import timedelta

from django.utils import timezone

from tests.fixtures.waiting import wait_for
from tokenadmin.reports.models import ReportRun
from tokenadmin.reports.schedule import TICK_HEADER, Schedule
from tokenadmin.reports.services import report_run_request
from tokenadmin.reports.tasks import expiry_report_scheduled_task, expiry_report_send_task

from .conftest import index_refresh, offline_session_aged, report_create

EVERY_3_S = Schedule(kind="interval", every=3, period="seconds")


def test_beat_sends_the_scheduled_report_with_what_the_index_holds(kc, own_sink, celery_beat):
    offline_session_aged(kc, days=27, username="data_scientist")
    index_refresh()
    report = report_create(schedule=EVERY_3_S, realms=["master"], client_ids=["api-client"])

    mails = wait_for(lambda: own_sink.received(), timeout_s=30, what="the scheduled mail")

    first = mails[0]
    assert first.to == "ops@example.org, ml-platform@example.org"
    text = first.body("plain")
    assert "== Offline tokens lapsing (1) ==" in text
    assert "data_scientist (master, offline, api-client)" in text
    assert "/sessions/master/?client=api-client&type=offline&expiring_within=7d" in text
    [(_name, data)] = first.attachments()
    lapsing = [
        r
        for r in csv.DictReader(io.StringIO(gzip.decompress(data).decode()))
        if r["section"] == "offline_lapsing"
    ]
    assert [r["username"] for r in lapsing] == ["data_scientist"]
    run = wait_for(
        lambda: report.runs.filter(state="sent", manual=False).first(), what="the sent run"
    )
    assert run.counts["offline_lapsing"] == 1
    assert run.slot.timestamp() % 3 == 0
    # Each slot is one run and one mail, however many ticks beat has made by now.
    report.periodic_task.enabled = False
    report.periodic_task.save()
    time.sleep(1)
    wait_for(lambda: not report.runs.exclude(state__in=["sent"]).exists(), what="runs to settle")
    assert len(own_sink.received()) == report.runs.count()


def test_a_tick_delivered_twice_sends_once(kc, own_sink, reports_worker):
    index_refresh()
    report = report_create()
    tick = {TICK_HEADER: "2026-03-02T07:00:00.250000+00:00"}

    expiry_report_scheduled_task.apply_async(args=[report.pk], headers=tick)
    expiry_report_scheduled_task.apply_async(args=[report.pk], headers=tick)

    wait_for(lambda: report.runs.filter(state="sent").exists(), what="the sent run")
    time.sleep(2)  # room for a second mail, if one were coming
    assert len(own_sink.received()) == 1
    assert [r.slot.isoformat() for r in report.runs.all()] == ["2026-03-02T00:00:00+00:00"]


def test_smtp_down_then_up_delivers_exactly_once(kc, own_sink, reports_worker):
    index_refresh()
    run = report_run_request(report=report_create(), actor=None)
    own_sink.stop()

    expiry_report_send_task.delay(run.pk)

    failing = wait_for(
        lambda: ReportRun.objects.filter(pk=run.pk, attempts__gte=2, state="pending").first(),
        what="two failed attempts",
    )
    assert "ConnectionRefusedError" in failing.error
    own_sink.start()

    sent = wait_for(
        lambda: ReportRun.objects.filter(pk=run.pk, state="sent").first(),
        timeout_s=40,
        what="the retry to get through",
    )
    assert sent.attempts >= 3
    assert sent.error == ""
    time.sleep(2)
    assert len(own_sink.received()) == 1


def test_a_run_left_half_sent_by_a_killed_worker_is_sent_once_by_the_next(
    kc, own_sink, worker_start, transactional_db
):
    index_refresh()
    run = report_run_request(report=report_create(), actor=None)
    # What a worker killed mid-send leaves behind: claimed, never finished.
    ReportRun.objects.filter(pk=run.pk).update(
        state="sending", attempts=1, started_at=timezone.now() - timedelta(minutes=30)
    )
    with worker_start("restarted", mail_port=own_sink.port):
        sent = wait_for(
            lambda: ReportRun.objects.filter(pk=run.pk, state="sent").first(),
            what="the stranded run to be sent",
        )
    assert sent.attempts == 2
    assert len(own_sink.received()) == 1
