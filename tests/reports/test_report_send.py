"""Building and sending one run in-process: what arrives in the SMTP sink."""

import csv
import io

from tokenadmin.reports.models import ReportRun
from tokenadmin.reports.services import report_run_request, report_run_send

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
    assert "1 offline tokens lapsing" in mail.subject
    text = mail.body("plain")
    print(text)
    assert text.index("COUNTS") < text.index("== Offline tokens lapsing (1) ==")
    assert "wallaroo_user (master, offline, api-client)" in text
    assert "/sessions/master/?type=offline&expiring_within=7d&sort=expires" in text
    html = mail.body("html")
    assert "Offline tokens lapsing" in html
    [(filename, data)] = mail.attachments()
    assert filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    lapsing = [row for row in rows if row["section"] == "offline_lapsing"]
    assert [row["username"] for row in lapsing] == ["wallaroo_user"]
    run.refresh_from_db()
    assert run.state == ReportRun.State.SENT
    assert run.counts["offline_lapsing"] == 1
    assert run.attempts == 1
