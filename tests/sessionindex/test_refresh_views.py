"""'Refresh now' and its progress bar, as the admin's browser drives them through htmx."""

import json
import re
import time
from datetime import timedelta

from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

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


def test_a_first_refresh_that_failed_half_way_shows_its_rows_as_partial(kc, client_as, monkeypatch):
    kc.seed(realm="mlflow", users=50, sessions=1500, offline_ratio=0.3)
    client = client_as("viewer")
    # Rows go in as pages arrive (every 200 here); the offline lists fail after the online ones.
    monkeypatch.setattr("tokenadmin.sessionindex.refresh.WRITE_BATCH", 200)
    kc.fault(path=r"/offline-sessions$", status=503, latency_ms=1500)

    index = realm_index_refresh(realm="mlflow")

    assert index.state == RealmIndex.State.FAILED and index.refreshed_at is None
    rows = IndexedSession.objects.filter(realm="mlflow").count()
    assert rows >= 800
    page = client.get("/sessions/mlflow/").content.decode()
    assert "Not indexed yet" not in page
    assert (
        "Partly indexed, the last refresh failed: Keycloak is unreachable or failing while "
        f"trying to list the sessions of a client of mlflow. · {rows:,} sessions read so far "
        "(partial counts)" in page
    )
    assert 'data-testid="summary-partial"' in page
    assert "partial: no refresh of mlflow has completed" in page

    kc.clear_faults()
    realm_index_refresh(realm="mlflow")

    page = client.get("/sessions/mlflow/").content.decode()
    assert "Partly indexed" not in page and "partial" not in page


def test_a_cut_off_refresh_stops_the_polling_says_when_the_next_runs_and_refresh_now_takes_over(
    kc, client_as
):
    client = client_as("viewer")
    beat_every = IntervalSchedule.objects.create(every=300, period=IntervalSchedule.SECONDS)
    last_beat = timezone.now() - timedelta(seconds=60)
    PeriodicTask.objects.create(
        name="session-index-refresh-all",
        task="tokenadmin.sessionindex.tasks.realm_index_refresh_all_task",
        interval=beat_every,
        last_run_at=last_beat,
    )
    # A refresh whose worker died 30 s ago, 65 pages into 313.
    died_at = timezone.now() - timedelta(seconds=30)
    RealmIndex.objects.create(
        realm="mlflow",
        state=RealmIndex.State.RUNNING,
        started_at=died_at - timedelta(seconds=20),
        heartbeat_at=died_at,
        progress_done=65,
        progress_total=313,
    )

    response = client.get(PROGRESS_URL.format(realm="mlflow"), headers=HTMX)

    assert response.status_code == 286
    page = response.content.decode()
    assert 'hx-trigger="every 1s"' not in page
    next_at = timezone.localtime(last_beat + timedelta(seconds=300))
    assert (
        f"The last refresh was cut off at {timezone.localtime(died_at):%H:%M:%S} after 65 of "
        f"313 pages: its worker stopped." in page
    )
    assert f"The next scheduled refresh runs at {next_at:%H:%M}." in page

    response = client.post(REFRESH_URL.format(realm="mlflow"), headers=HTMX)

    index = RealmIndex.objects.get(realm="mlflow")
    assert index.is_refreshing and index.started_at > died_at
    assert 'data-state="running"' in response.content.decode()
