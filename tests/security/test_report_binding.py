"""Finding 1: a report stays bound to its realms whatever becomes of the saved view it is built
on, so a user without rights on them never reads, previews, sends, edits or deletes it."""

import importlib

from django.apps import apps

from tests.reports.conftest import report_create
from tokenadmin.reports.models import ExpiryReport
from tokenadmin.sessionindex.models import SavedView
from tokenadmin.sessionindex.services import VIEW_IN_USE

HTMX = {"HX-Request": "true"}


def _refused_everywhere(client, pk: int) -> None:
    for url in (f"/reports/{pk}/", f"/reports/{pk}/edit/", f"/reports/{pk}/preview/"):
        assert client.get(url).status_code == 403, url
    assert client.get(f"/reports/{pk}/preview/email.html").status_code == 403
    assert client.post(f"/reports/{pk}/edit/", {"name": "mine now"}).status_code == 403
    assert client.post(f"/reports/{pk}/send-now").status_code == 403
    assert client.post(f"/reports/{pk}/delete").status_code == 403
    assert ExpiryReport.objects.filter(pk=pk).exists()


def test_a_saved_view_a_report_uses_cannot_be_deleted_and_the_report_stays_closed(client_as, kc):
    view = SavedView.objects.create(realm="master", name="Stale API logins", query={"q": "api"})
    report = report_create(name="Master API", realms=[], saved_view=view)
    assert report.realms == ["master"]

    admin = client_as("admin")
    answer = admin.post(f"/sessions/master/views/{view.pk}/delete", headers=HTMX)

    assert answer.status_code == 200
    assert VIEW_IN_USE.format(names="“Master API”") in answer.content.decode()
    assert SavedView.objects.filter(pk=view.pk).exists()
    admin.logout()
    for username in ("viewer", "outsider"):
        client = client_as(username)
        _refused_everywhere(client, report.pk)
        client.logout()


def test_a_report_bound_to_no_realm_is_master_admins_only(client_as, kc):
    # What a report looked like once its saved view had been deleted (before the fix).
    report = ExpiryReport.objects.create(name="Orphan", realms=[], recipients=["a@example.org"])

    for username in ("viewer", "outsider"):
        client = client_as(username)
        _refused_everywhere(client, report.pk)
        client.logout()
    assert client_as("admin").get(f"/reports/{report.pk}/").status_code == 200


def test_the_migration_binds_view_reports_and_switches_off_unbound_ones(kc, db):
    view = SavedView.objects.create(realm="mlflow", name="ML", query={})
    on_view = report_create(name="On a view", realms=[], saved_view=view)
    ExpiryReport.objects.filter(pk=on_view.pk).update(realms=[])
    orphan = report_create(name="Orphan", realms=["mlflow"])
    ExpiryReport.objects.filter(pk=orphan.pk).update(realms=[])
    migration = importlib.import_module(
        "tokenadmin.reports.migrations.0002_report_bound_to_its_realms"
    )

    migration.bind_reports_to_realms(apps, None)

    on_view.refresh_from_db()
    orphan.refresh_from_db()
    assert on_view.realms == ["mlflow"] and on_view.enabled
    assert not orphan.enabled and not orphan.periodic_task.enabled
