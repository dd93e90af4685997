"""The report pages, as an admin sees them through the Django test client."""

from django.utils import timezone

from tokenadmin.ledger.models import LedgerEntry
from tokenadmin.reports.forms import RECIPIENT_INVALID
from tokenadmin.reports.models import ExpiryReport, ReportRun

from .conftest import index_refresh, report_create

FORM = {
    "name": "ML tokens",
    "realms": ["mlflow"],
    "clients": "mlflow",
    "offline_within_days": "7",
    "sso_max_within_hours": "9",
    "idle_over_hours": "",
    "sessions_per_user_over": "",
    "include_lifespan_changes": "on",
    "recipients": "ml@example.org, ops@example.org",
    "schedule_kind": "crontab",
    "every": "1",
    "period": "days",
    "cron_minute": "30",
    "cron_hour": "6",
    "cron_day_of_month": "*",
    "cron_month_of_year": "*",
    "cron_day_of_week": "mon-fri",
    "enabled": "on",
}


def test_an_admin_creates_a_report_with_its_schedule_and_a_ledger_entry(client_as, kc):
    client = client_as("admin")

    response = client.post("/reports/new/", FORM)

    report = ExpiryReport.objects.get(name="ML tokens")
    assert response["Location"] == f"/reports/{report.pk}/"
    assert report.realms == ["mlflow"] and report.client_ids == ["mlflow"]
    assert report.recipients == ["ml@example.org", "ops@example.org"]
    task = report.periodic_task
    assert task.task == "tokenadmin.reports.tasks.expiry_report_scheduled_task"
    assert task.args == f"[{report.pk}]"
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == (
        "30",
        "6",
        "mon-fri",
    )
    entry = LedgerEntry.objects.get(action="report_changed")
    assert (entry.actor_username, entry.realm, entry.target_label) == (
        "admin",
        "mlflow",
        "ML tokens",
    )
    page = client.get(f"/reports/{report.pk}/").content.decode()
    assert "cron 30 6 * * mon-fri (UTC)" in page


def test_a_bad_recipient_is_refused_in_the_form(client_as, kc):
    response = client_as("admin").post("/reports/new/", {**FORM, "recipients": "ops@, a@b.org"})

    assert response.status_code == 200
    assert RECIPIENT_INVALID.format(address="ops@") in response.content.decode()
    assert not ExpiryReport.objects.exists()


def test_an_operator_cannot_open_a_report_on_a_realm_they_cannot_read(client_as, kc):
    report = report_create(realms=["master"])

    response = client_as("operator").get(f"/reports/{report.pk}/")

    assert response.status_code == 403


def test_the_preview_shows_the_email_and_sends_nothing(client_as, kc, mail_sink):
    index_refresh("mlflow")
    report = report_create(realms=["mlflow"])
    client = client_as("admin")

    page = client.get(f"/reports/{report.pk}/preview/")
    email = client.get(f"/reports/{report.pk}/preview/email.html")

    assert "Sessions reaching their SSO maximum" in page.content.decode()
    assert "mlflow_user" in email.content.decode()
    assert email["Content-Security-Policy"].startswith("default-src 'none'")
    assert email["X-Frame-Options"] == "SAMEORIGIN"
    assert mail_sink.received() == []
    assert not report.runs.exists()


def test_the_mailbox_is_not_there_outside_the_demo(client_as, kc, settings):
    settings.TOKENADMIN_DEMO_MAILDIR = ""
    client = client_as("admin")

    assert client.get("/demo/mailbox/").status_code == 404
    assert client.get("/reports/mailbox/").status_code == 404
    assert 'data-testid="mailbox-link"' not in client.get("/reports/").content.decode()


def test_the_demo_mailbox_lists_and_shows_what_the_sink_received(client_as, kc, demo_mailbox):
    from tokenadmin.reports.services import report_run_request, report_run_send

    index_refresh("mlflow")
    report = report_create(realms=["mlflow"])
    report_run_send(run_id=report_run_request(report=report, actor=None).pk)
    [mail] = demo_mailbox.received()
    client = client_as("admin")

    listing = client.get("/demo/mailbox/").content.decode()
    one = client.get(f"/demo/mailbox/{mail.path.name}/").content.decode()
    html = client.get(f"/demo/mailbox/{mail.path.name}/body.html")

    assert mail.subject in listing
    assert "ops@example.org" in listing
    assert "Expiry report" in one and ".csv" in one
    assert "mlflow_user" in html.content.decode()
    assert html["Content-Security-Policy"].startswith("default-src 'none'")
    assert client.get("/demo/mailbox/..%2Fetc%2Fpasswd/").status_code == 404
    assert 'data-testid="mailbox-link"' in client.get("/reports/").content.decode()


def test_the_runs_poll_goes_on_while_a_run_is_pending_and_stops_with_286(client_as, kc):
    report = report_create(realms=["mlflow"])
    run = ReportRun.objects.create(report=report, slot=timezone.now(), manual=True)
    client = client_as("admin")
    htmx = {"HX-Request": "true"}

    page = client.get(f"/reports/{report.pk}/")
    pending = client.get(f"/reports/{report.pk}/", headers=htmx)
    ReportRun.objects.filter(pk=run.pk).update(state=ReportRun.State.SENT)
    sent = client.get(f"/reports/{report.pk}/", headers=htmx)

    assert page.status_code == 200 and 'hx-trigger="every 2s"' in page.content.decode()
    assert pending.status_code == 200
    assert sent.status_code == 286 and "every 2s" not in sent.content.decode()
