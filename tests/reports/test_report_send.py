"""Building and sending one run in-process: what arrives in the SMTP sink."""

import csv
import gzip
import io
from datetime import UTC, datetime, timedelta

import pytest

from tokenadmin.devstack import processes
from tokenadmin.keycloak import gateway_for_worker
from tokenadmin.lifespans.drift import lifespans_drift_watch
from tokenadmin.reports.models import ReportRun
from tokenadmin.reports.schedule import Schedule
from tokenadmin.reports.services import report_run_for_tick, report_run_request, report_run_send
from tokenadmin.sessionindex.models import SavedView

from .conftest import index_refresh, offline_session_aged, report_create


def test_a_report_arrives_with_counts_details_links_and_the_csv(kc, mail_sink, db):
    offline_session_aged(kc, days=26)
    index_refresh()
    report = report_create()
    run = report_run_request(report=report, actor=None)

    assert report_run_send(run_id=run.pk) == "sent"

    [mail] = mail_sink.received()
    assert mail.to == "ops@example.org, ml-platform@example.org"
    assert "Morning expiry report" in mail.subject
    assert mail.subject == (
        "[tokenadmin] Morning expiry report: 1 offline token lapsing, "
        "1 session reaching its SSO maximum, 2 long-idle sessions still valid, "
        "2 users with unusually many sessions"
    )
    text = mail.body("plain")
    assert text.index("COUNTS") < text.index("== Offline tokens lapsing (1) ==")
    assert "wallaroo_user (master, offline, api-client)" in text
    assert "/sessions/master/?type=offline&expiring_within=7d&sort=expires" in text
    html = mail.body("html")
    assert "Offline tokens lapsing" in html
    [(filename, data)] = mail.attachments()
    assert filename.endswith(".csv.gz")
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(data).decode())))
    lapsing = [row for row in rows if row["section"] == "offline_lapsing"]
    assert [row["username"] for row in lapsing] == ["wallaroo_user"]
    run.refresh_from_db()
    assert run.state == ReportRun.State.SENT
    assert run.counts["offline_lapsing"] == 1
    assert run.attempts == 1


def test_a_report_with_nothing_to_say_is_not_sent_unless_configured_to(kc, mail_sink, db):
    index_refresh()
    quiet = dict(
        offline_within_days=1,
        sso_max_within_hours=1,
        idle_over_hours=None,
        sessions_per_user_over=None,
        include_lifespan_changes=False,
    )
    silent = report_create(name="Silent when empty", **quiet)
    chatty = report_create(name="Always sends", send_when_empty=True, **quiet)

    assert report_run_send(run_id=report_run_request(report=silent, actor=None).pk) == (
        "skipped_empty"
    )
    assert report_run_send(run_id=report_run_request(report=chatty, actor=None).pk) == "sent"

    [mail] = mail_sink.received()
    assert mail.subject == "[tokenadmin] Always sends: nothing about to expire"
    assert "Nothing is about to expire." in mail.body("plain")
    assert silent.runs.get().counts == {"offline_lapsing": 0, "sso_max": 0}


def test_a_run_claimed_twice_is_sent_once(mail_sink, db):
    run = report_run_request(report=report_create(send_when_empty=True), actor=None)

    assert report_run_send(run_id=run.pk) == "sent"
    assert report_run_send(run_id=run.pk) is None

    assert len(mail_sink.received()) == 1


def test_smtp_down_puts_the_run_back_with_its_error_and_the_next_attempt_sends_it(
    mail_sink, db, settings
):
    run = report_run_request(report=report_create(send_when_empty=True), actor=None)
    settings.EMAIL_PORT = processes.free_port()  # nothing listens there

    with pytest.raises(ConnectionRefusedError):
        report_run_send(run_id=run.pk)

    run.refresh_from_db()
    assert (run.state, run.attempts, run.retrying) == ("pending", 1, True)
    assert "ConnectionRefusedError" in run.error
    assert mail_sink.received() == []

    settings.EMAIL_PORT = mail_sink.port
    assert report_run_send(run_id=run.pk) == "sent"
    run.refresh_from_db()
    assert (run.state, run.attempts, run.error) == ("sent", 2, "")
    assert len(mail_sink.received()) == 1


def test_the_last_attempt_that_fails_marks_the_run_failed(mail_sink, db, settings):
    run = report_run_request(report=report_create(send_when_empty=True), actor=None)
    settings.EMAIL_PORT = processes.free_port()

    with pytest.raises(ConnectionRefusedError):
        report_run_send(run_id=run.pk, final_attempt=True)

    run.refresh_from_db()
    assert run.state == "failed"
    assert report_run_send(run_id=run.pk) is None


def test_two_ticks_of_one_slot_make_one_run(db):
    report = report_create(schedule=Schedule(kind="interval", every=1, period="hours"))
    tick = datetime(2026, 3, 2, 7, 0, 0, 300000, tzinfo=UTC)

    first = report_run_for_tick(report_id=report.pk, tick_at=tick)
    again = report_run_for_tick(report_id=report.pk, tick_at=tick + timedelta(seconds=2))
    next_hour = report_run_for_tick(report_id=report.pk, tick_at=tick + timedelta(hours=1))

    assert first.pk == again.pk != next_hour.pk
    assert first.slot == datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert ReportRun.objects.filter(report=report).count() == 2


def test_lifespan_changes_since_the_last_report_are_in_the_email_once(kc, mail_sink, db):
    report = report_create(realms=["mlflow"])
    lifespans_drift_watch(gateway=gateway_for_worker())  # the baseline
    admin = kc.admin()
    admin.update_realm("mlflow", {**admin.get_realm("mlflow"), "ssoSessionMaxLifespan": 7200})
    lifespans_drift_watch(gateway=gateway_for_worker())
    index_refresh("mlflow")

    report_run_send(run_id=report_run_request(report=report, actor=None).pk)
    report_run_send(run_id=report_run_request(report=report, actor=None).pk)

    first, second = mail_sink.received()
    text = first.body("plain")
    assert "== Lifespan changes since the last report (1) ==" in text
    assert "SSO Session Max: 10 h → 2 h" in text
    # The realm's new 2-hour maximum, read from Keycloak: both live sessions reach it in 9 h.
    assert "== Sessions reaching their SSO maximum (2) ==" in text
    assert "Lifespan changes since the last report (" not in second.body("plain")


def test_a_report_on_a_saved_view_reads_only_what_the_view_shows(kc, mail_sink, db):
    index_refresh("master")
    view = SavedView.objects.create(name="SDK", realm="master", query={"client": "sdk-client"})
    report = report_create(realms=[], saved_view=view, idle_over_hours=12)

    report_run_send(run_id=report_run_request(report=report, actor=None).pk)

    [mail] = mail_sink.received()
    text = mail.body("plain")
    assert "== Long-idle sessions still valid (1) ==" in text
    assert "data_scientist (master, offline, sdk-client)" in text
    assert "wallaroo_user" not in text
    assert "/sessions/master/?client=sdk-client&idle_over=12h&sort=last_access" in text
