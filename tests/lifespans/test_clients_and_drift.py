"""Client overrides, job survival and the drift watch against the emulator over HTTP."""

from datetime import timedelta

from django.utils import timezone

from tokenadmin.keycloak import gateway_for_worker
from tokenadmin.ledger.models import Action, LedgerEntry
from tokenadmin.lifespans.drift import WHO_EVENTS_OFF, lifespans_drift_watch
from tokenadmin.lifespans.selectors import lifespan_changes_since

HTMX = {"HX-Request": "true"}


def client_rep(kc, realm, client_id):
    admin = kc.admin(realm_name=realm)
    return admin.get_client(admin.get_client_id(client_id))


def test_the_matrix_shows_api_clients_60_minute_tokens_as_overridden(client_as, kc):
    page = client_as("admin").get("/lifespans/master/clients/").content.decode()
    row = page.split('data-client="api-client"')[1].split("</tr>")[0]
    access = row.split('data-column="access"')[1].split("</td>")[0]
    assert "1 h" in access and 'data-state="overridden"' in access
    offline_max = row.split('data-column="offline_max"')[1].split("</td>")[0]
    assert "never" in offline_max


def test_a_client_override_is_saved_read_modify_write_and_blank_inherits(client_as, kc):
    before = client_rep(kc, "mlflow", "mlflow")
    client = client_as("operator")
    url = f"/lifespans/mlflow/clients/{before['id']}/"
    editor = client.get(url + "?preset=api-client", headers=HTMX).content.decode()
    assert 'name="access.token.lifespan" value="1h"' in editor
    fields = {
        "access.token.lifespan": "1h",
        "client.session.idle.timeout": "",
        "client.session.max.lifespan": "8h",
        "client.offline.session.idle.timeout": "",
        "client.offline.session.max.lifespan": "",
    }
    page = client.post(url, fields, headers=HTMX).content.decode()
    assert 'data-testid="client-saved"' in page
    after = client_rep(kc, "mlflow", "mlflow")
    assert after["attributes"]["access.token.lifespan"] == "3600"
    assert after["attributes"]["client.session.max.lifespan"] == "28800"
    assert after["attributes"].get("client.session.idle.timeout", "") == ""
    other = {k for k in after if k != "attributes" and after[k] != before.get(k)}
    assert other == set()
    kept = {k: v for k, v in before["attributes"].items() if k not in fields}
    assert {k: after["attributes"].get(k) for k in kept} == kept
    entry = LedgerEntry.objects.get(action=Action.CLIENT_LIFESPANS_UPDATED)
    assert entry.target_label == "mlflow"


def test_a_bad_override_is_refused_and_kept_as_typed(client_as, kc):
    before = client_rep(kc, "mlflow", "mlflow")
    url = f"/lifespans/mlflow/clients/{before['id']}/"
    page = (
        client_as("operator")
        .post(
            url,
            {"access.token.lifespan": "soon", "client.session.max.lifespan": "-2h"},
            headers=HTMX,
        )
        .content.decode()
    )
    assert 'value="soon"' in page and "is not a duration" in page
    assert "cannot be negative" in page
    assert client_rep(kc, "mlflow", "mlflow") == before


def test_a_viewer_cannot_edit_client_overrides(client_as, kc):
    rep = client_rep(kc, "mlflow", "mlflow")
    client = client_as("viewer")
    assert (
        'data-testid="edit-mlflow"' not in client.get("/lifespans/mlflow/clients/").content.decode()
    )
    answer = client.post(f"/lifespans/mlflow/clients/{rep['id']}/", {"access.token.lifespan": "1h"})
    assert answer.status_code == 403


def test_job_survival_answers_for_both_seed_setups(client_as, kc):
    client = client_as("admin")
    page = client.get(
        "/lifespans/mlflow/job-survival/", {"client": "mlflow", "job": "11h", "refresh": "on"}
    ).content.decode()
    assert 'data-survives="no"' in page
    assert "SSO Session Max (10 h) ends the session after 10 h" in page
    page = client.get(
        "/lifespans/master/job-survival/", {"client": "api-client", "job": "2h"}
    ).content.decode()
    assert 'data-survives="no"' in page
    assert "access.token.lifespan" in page


def test_the_drift_watch_records_an_outside_change_and_the_page_shows_it(client_as, kc, db):
    start = timezone.now() - timedelta(seconds=1)
    assert lifespans_drift_watch(gateway=gateway_for_worker())["mlflow"] is False  # baseline
    admin = kc.admin()
    admin.update_realm("mlflow", {**admin.get_realm("mlflow"), "ssoSessionMaxLifespan": 7200})
    assert lifespans_drift_watch(gateway=gateway_for_worker())["mlflow"] is True

    [change] = lifespan_changes_since("mlflow", start)
    assert change.outside_tokenadmin
    assert change.who == WHO_EVENTS_OFF
    assert [(c.label, c.old_text, c.new_text) for c in change.changes] == [
        ("SSO Session Max", "10 h", "2 h")
    ]
    page = client_as("operator").get("/lifespans/mlflow/").content.decode()
    assert 'data-testid="drift-banner"' in page
    assert "unknown (admin events are off)" in page
    assert 'data-testid="drift-revert"' in page


def test_with_admin_events_on_the_drift_names_who_changed_it(kc, db):
    admin = kc.admin()
    rep = admin.get_realm("mlflow")
    admin.update_realm("mlflow", {**rep, "adminEventsEnabled": True})
    lifespans_drift_watch(gateway=gateway_for_worker())
    admin.update_realm("mlflow", {**admin.get_realm("mlflow"), "accessTokenLifespan": 900})
    lifespans_drift_watch(gateway=gateway_for_worker())
    [change] = lifespan_changes_since("mlflow", timezone.now() - timedelta(minutes=5))
    assert change.who == "admin"


def test_a_bare_number_override_is_refused_but_minus_one_is_keycloaks_marker(client_as, kc):
    before = client_rep(kc, "mlflow", "mlflow")
    url = f"/lifespans/mlflow/clients/{before['id']}/"
    client = client_as("operator")
    page = client.post(url, {"client.session.max.lifespan": "300"}, headers=HTMX).content.decode()
    assert 'value="300"' in page and "has no unit: write 300s for seconds" in page
    assert client_rep(kc, "mlflow", "mlflow") == before
    page = client.post(url, {"access.token.lifespan": "-1"}, headers=HTMX).content.decode()
    assert 'data-testid="client-saved"' in page
    assert client_rep(kc, "mlflow", "mlflow")["attributes"]["access.token.lifespan"] == "-1"
