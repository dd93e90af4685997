"""Finding 7: no-store on what shows sessions; the report mail's text is not HTML-escaped.
(Production's refusal of the published client secrets: tests/docker/test_production_settings.py)"""

from datetime import timedelta

from django.utils import timezone

from tests.reports.conftest import report_create
from tokenadmin.reports.emails import expiry_report_message
from tokenadmin.reports.services import expiry_report_preview
from tokenadmin.sessionindex.models import IndexedSession, search_text_of

AWKWARD = 'O\'Brien & <Sons> "R&D"'


def test_the_report_mails_plain_text_and_subject_are_not_html_escaped(kc, db):
    now = timezone.now()
    IndexedSession.objects.create(
        realm="mlflow",
        session_id="sid-awkward",
        user_id="id-awkward",
        username=AWKWARD,
        ip_address="10.0.0.9",
        started_at=now - timedelta(days=3),
        last_access_at=now - timedelta(days=2),
        clients={"u": "a&b"},
        client_ids_text=" a&b ",
        expires_at=now + timedelta(hours=1),
        seen_at=now,
        search_text=search_text_of(AWKWARD, "10.0.0.9", " a&b "),
    )
    report = report_create(name=AWKWARD, realms=["mlflow"], idle_over_hours=1)

    message = expiry_report_message(
        content=expiry_report_preview(report=report), recipients=["ops@example.org"]
    )

    assert AWKWARD in message.subject
    assert f'Expiry report "{AWKWARD}"' in message.body
    assert f"{AWKWARD} (mlflow, regular, a&b)" in message.body
    assert "&amp;" not in message.body + message.subject
    assert "&#x27;" not in message.body + message.subject
    html = message.alternatives[0][0]
    assert "O&#x27;Brien &amp; &lt;Sons&gt;" in html  # the HTML part stays escaped


def test_pages_and_exports_that_show_sessions_are_not_stored(client_as, kc):
    client = client_as("admin")
    user_id = kc.admin().get_user_id("admin")
    for url in (
        "/sessions/",
        "/sessions/master/",
        "/sessions/master/export.csv",
        f"/sessions/master/users/{user_id}/",
        "/revocations/",
        "/ledger/",
        "/ledger/export.csv",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
