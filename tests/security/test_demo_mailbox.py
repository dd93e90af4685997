"""Finding 4: the demo mailbox shows a report's mail only to whom may read that report, and
exists only in the demo's URLconf."""

import os
import subprocess
import sys

import pytest
from django.urls import NoReverseMatch, reverse

from tests.reports.conftest import index_refresh, report_create
from tokenadmin.reports.services import report_run_request, report_run_send


def _sent(realms: list[str]):
    report = report_create(name=f"Report on {'+'.join(realms)}", realms=realms)
    report_run_send(run_id=report_run_request(report=report, actor=None).pk)


def test_a_mail_is_shown_only_to_whom_may_read_its_report(client_as, kc, demo_mailbox):
    index_refresh("master", "mlflow")
    _sent(["master"])
    _sent(["mlflow"])
    master_mail, mlflow_mail = sorted(demo_mailbox.received(), key=lambda m: m.subject)
    assert "master" in master_mail.subject

    viewer = client_as("viewer")  # view-users on mlflow only
    listing = viewer.get("/demo/mailbox/").content.decode()
    assert mlflow_mail.subject in listing and master_mail.subject not in listing
    assert viewer.get(f"/demo/mailbox/{mlflow_mail.path.name}/").status_code == 200
    for url in (
        f"/demo/mailbox/{master_mail.path.name}/",
        f"/demo/mailbox/{master_mail.path.name}/body.html",
        f"/demo/mailbox/{master_mail.path.name}/attachments/0/",
    ):
        response = viewer.get(url)
        assert response.status_code == 404, url
        assert "wallaroo_user" not in response.content.decode()
    viewer.logout()

    outsider = client_as("outsider")
    assert outsider.get("/demo/mailbox/").status_code == 403
    assert outsider.get(f"/demo/mailbox/{mlflow_mail.path.name}/").status_code == 403
    outsider.logout()

    admin_listing = client_as("admin").get("/demo/mailbox/").content.decode()
    assert master_mail.subject in admin_listing and mlflow_mail.subject in admin_listing


def test_the_product_urlconf_has_no_demo_pages(client_as, kc, mail_sink, settings):
    settings.TOKENADMIN_DEMO_MAILDIR = str(mail_sink.directory)  # set, but not the demo's URLs

    with pytest.raises(NoReverseMatch):
        reverse("demo:mailbox")
    assert client_as("admin").get("/reports/mailbox/").status_code == 404


def test_only_the_demo_routes_the_demo_urls():
    """settings.ROOT_URLCONF follows TOKENADMIN_DEMO_MAILDIR, which `manage.py demo` sets."""
    script = "from django.conf import settings; print(settings.ROOT_URLCONF)"

    def urlconf(**env: str) -> str:
        base = {k: v for k, v in os.environ.items() if k != "TOKENADMIN_DEMO_MAILDIR"}
        result = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {script}"],
            env={**base, "DJANGO_SETTINGS_MODULE": "tokenadmin.settings", **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout.strip()

    assert urlconf() == "tokenadmin.urls"
    assert urlconf(TOKENADMIN_DEMO_MAILDIR="/tmp/mail") == "tokenadmin.demo.root_urls"
