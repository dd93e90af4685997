"""'Refresh now' and its progress bar, as the admin's browser drives them through htmx."""

import json
import re
import time

from tokenadmin.sessionindex.models import IndexedSession, RealmIndex
from tokenadmin.sessionindex.refresh import realm_index_claim, realm_index_refresh

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/sessions/mlflow/"}
REFRESH_URL = "/sessions/{realm}/index/refresh"
PROGRESS_URL = "/sessions/{realm}/index/progress"


def poll_until_done(client, realm: str, timeout_s: float = 30):
    """Poll the progress partial as htmx does (`every 1s`, faster here) until it says stop."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = client.get(PROGRESS_URL.format(realm=realm), headers=HTMX)
        if response.status_code != 200:
            return response
        assert 'hx-trigger="every 1s"' in response.content.decode()
        time.sleep(0.1)
    raise AssertionError("the refresh did not finish")


def test_refresh_now_shows_progress_then_the_fresh_index_and_reloads_the_table(
    kc, client_as, celery_worker
):
    kc.seed(realm="mlflow", users=20, sessions=400, offline_ratio=0.2)
    client = client_as("admin")

    started = client.post(REFRESH_URL.format(realm="mlflow"), headers=HTMX)

    assert started.status_code == 200
    page = started.content.decode()
    assert 'data-state="running"' in page
    assert 'hx-get="/sessions/mlflow/index/progress"' in page
    assert 'data-testid="refresh-progress"' in page

    done = poll_until_done(client, "mlflow")

    assert done.status_code == 286  # htmx stops polling
    assert json.loads(done["HX-Trigger"]) == {"sessions-changed": {}}
    indexed = IndexedSession.objects.filter(realm="mlflow").count()
    assert indexed > 400 * 0.5
    page = done.content.decode()
    shown = re.search(
        r"Indexed (now|a second ago|\d+\s+seconds? ago) · <span[^>]*>([\d,]+)</span> live sessions",
        page,
    )
    assert shown and int(shown.group(2).replace(",", "")) == indexed
    assert 'data-testid="refresh-now"' in page and 'data-state="done"' in page


def test_refresh_now_while_a_refresh_runs_shows_that_refresh(kc, client_as):
    client = client_as("viewer")
    RealmIndex.objects.create(realm="mlflow", state=RealmIndex.State.RUNNING)

    assert realm_index_claim(realm="mlflow") is None  # held by the refresh above
    response = client.post(REFRESH_URL.format(realm="mlflow"), headers=HTMX)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-state="running"' in page
    assert "waiting for a worker to start it" in page


def test_a_failed_refresh_says_why_and_offers_to_try_again(kc, client_as):
    client = client_as("viewer")
    realm_index_refresh(realm="mlflow")
    kc.fault(path=r"/user-sessions$", status=503)
    realm_index_refresh(realm="mlflow")

    response = client.get(PROGRESS_URL.format(realm="mlflow"), headers=HTMX)

    assert response.status_code == 286
    page = response.content.decode()
    assert (
        "Last refresh failed: Keycloak is unreachable or failing while trying to "
        "list the sessions of a client of mlflow." in page
    )
    assert "Indexed " in page and 'data-testid="refresh-now"' in page


def test_a_realm_never_indexed_offers_a_first_refresh(kc, client_as):
    client = client_as("operator")

    response = client.get(PROGRESS_URL.format(realm="mlflow"), headers=HTMX)

    assert response.status_code == 286
    assert "Not indexed yet" in response.content.decode()


def test_refresh_now_without_htmx_goes_back_to_the_sessions_page(kc, client_as):
    client = client_as("operator")

    response = client.post(REFRESH_URL.format(realm="mlflow"))

    assert response.status_code == 302
    assert response["Location"] == "/sessions/mlflow/"
    assert RealmIndex.objects.get(realm="mlflow").state == RealmIndex.State.RUNNING


def test_refresh_now_refuses_without_view_users_on_the_realm(kc, client_as):
    client = client_as("viewer")  # view rights on mlflow only

    refused = client.post(REFRESH_URL.format(realm="master"), headers=HTMX)
    progress = client.get(PROGRESS_URL.format(realm="master"), headers=HTMX)

    assert refused.status_code == 403
    assert 'data-testid="forbidden"' in refused.content.decode()
    assert progress.status_code == 403
    assert not RealmIndex.objects.filter(realm="master").exists()


def test_an_outsider_cannot_start_a_refresh(kc, client_as):
    client = client_as("outsider")

    refused = client.post(REFRESH_URL.format(realm="mlflow"), headers=HTMX)

    assert refused.status_code == 403
    assert not RealmIndex.objects.filter(realm="mlflow").exists()


def test_refresh_now_only_answers_post(kc, client_as):
    client = client_as("admin")

    response = client.get(REFRESH_URL.format(realm="mlflow"), headers=HTMX)

    assert response.status_code == 405
    assert not RealmIndex.objects.filter(realm="mlflow").exists()
