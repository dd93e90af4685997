"""The report mail stays small: a summary and the first rows, a link to the full CSV on the
dashboard, and the CSV gzipped only while it fits under REPORT_ATTACHMENT_MAX_BYTES."""

import csv
import gzip
import io
from urllib.parse import urlsplit

from django.urls import reverse

from tokenadmin.reports.services import report_run_request, report_run_send

from .conftest import index_refresh, report_create

BUSY = dict(
    offline_within_days=None,
    sso_max_within_hours=None,
    idle_over_hours=0,  # every session has been idle for more than 0 h: all of them listed
    sessions_per_user_over=None,
    include_lifespan_changes=False,
)


def busy_mlflow(kc) -> int:
    kc.seed(realm="mlflow", users=40, sessions=300, clients=["mlflow"])
    index_refresh("mlflow")
    from tokenadmin.sessionindex.models import IndexedSession

    return IndexedSession.objects.filter(realm="mlflow").count()


def sent_mail(mail_sink, report):
    assert report_run_send(run_id=report_run_request(report=report, actor=None).pk) == "sent"
    [mail] = mail_sink.received()
    return mail


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_a_csv_too_big_to_attach_is_linked_and_the_mail_stays_small(kc, mail_sink, db, settings):
    sessions = busy_mlflow(kc)
    settings.REPORT_ATTACHMENT_MAX_BYTES = 2000
    report = report_create(realms=["mlflow"], **BUSY)

    mail = sent_mail(mail_sink, report)

    text = mail.body("plain")
    csv_url = f"/reports/{report.pk}/report.csv"
    assert mail.attachments() == []
    assert f"== Long-idle sessions still valid ({sessions}) ==" in text
    assert f"… and {sessions - 25} more in the full CSV." in text
    assert csv_url in text
    assert csv_url in mail.body("html")
    assert mail.path.stat().st_size < 60_000  # 25 rows in two bodies, whatever the count


def test_a_csv_that_fits_is_attached_gzipped_with_every_row(kc, mail_sink, db, settings):
    sessions = busy_mlflow(kc)
    settings.REPORT_ATTACHMENT_MAX_BYTES = 200_000
    report = report_create(realms=["mlflow"], **BUSY)

    mail = sent_mail(mail_sink, report)

    [(name, data)] = mail.attachments()
    assert name.endswith(".csv.gz")
    assert len(data) <= 200_000
    assert len(csv_rows(gzip.decompress(data).decode())) == sessions
    assert "also attached, gzipped" in mail.body("plain")


def test_the_csv_link_serves_every_row_to_an_admin_of_the_realm_and_to_no_one_else(
    kc, client_as, mail_sink, db, settings
):
    sessions = busy_mlflow(kc)
    settings.REPORT_ATTACHMENT_MAX_BYTES = 0
    report = report_create(realms=["mlflow"], **BUSY)
    link = next(
        word for word in sent_mail(mail_sink, report).body("plain").split() if "report.csv" in word
    )
    path = urlsplit(link).path
    assert path == reverse("reports:csv", args=[report.pk])

    operator = client_as("operator").get(path)
    body = b"".join(operator.streaming_content).decode()
    outsider = client_as("outsider").get(path)

    assert operator.status_code == 200
    assert operator["Content-Type"] == "text/csv"
    rows = csv_rows(body)
    assert len(rows) == sessions
    assert {row["section"] for row in rows} == {"long_idle"}
    assert {row["realm"] for row in rows} == {"mlflow"}
    assert outsider.status_code == 403
    assert b"mlflow_user" not in outsider.content
