"""The index refresh under faults: sessions expiring between pages, revocations during a
refresh, refreshes started twice at once, a worker killed mid-refresh."""

import os
import signal
import threading
import time
from contextlib import contextmanager

import pytest
from django.db import connection

from tests.fixtures.services import celery_app_point_at, celery_worker_running
from tests.revocation import conftest as revocation_fixtures
from tokenadmin.celery import app as celery_app
from tokenadmin.revocation.bulk import Kind, Recipe, revocation_job_create, revocation_plan_build
from tokenadmin.revocation.jobs import revocation_job_run
from tokenadmin.revocation.realmwide import realm_sign_out
from tokenadmin.revocation.targets import revocation_job_targets_build
from tokenadmin.sessionindex.lease import LEASE_S
from tokenadmin.sessionindex.models import IndexedSession, RealmIndex
from tokenadmin.sessionindex.refresh import realm_index_claim, realm_index_refresh
from tokenadmin.sessionindex.tasks import realm_index_refresh_task

pytestmark = pytest.mark.django_db

SESSION_LISTS = r"/clients/[^/]+/(user|offline)-sessions$"
# The cast acting against the emulator with their own tokens (a fixture of tests/revocation).
acting_as = revocation_fixtures.acting_as
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/sessions/mlflow/"}


def keycloak_sessions(kc, realm: str) -> set[tuple[str, bool]]:
    """Every (session id, offline) Keycloak lists under some client of the realm, read whole."""
    admin = kc.admin(realm_name=realm)
    held = set()
    for client in admin.connection.raw_get(f"admin/realms/{realm}/clients").json():
        for offline, kind in ((False, "user-sessions"), (True, "offline-sessions")):
            path = f"admin/realms/{realm}/clients/{client['id']}/{kind}"
            for rep in admin.connection.raw_get(path, first=0, max=1_000_000).json():
                held.add((rep["id"], offline))
    return held


def indexed(realm: str) -> set[tuple[str, bool]]:
    return set(IndexedSession.objects.filter(realm=realm).values_list("session_id", "offline"))


def test_sessions_alive_the_whole_refresh_are_indexed_while_others_expire_between_pages(kc):
    kc.seed(realm="mlflow", users=500, sessions=12000, offline_ratio=0.2)
    before = keycloak_sessions(kc, "mlflow")
    # Every page read ends 7 random sessions first: the lists shrink between pages.
    kc.fault(path=SESSION_LISTS, method="GET", expire_sessions=7)

    index = realm_index_refresh(realm="mlflow")

    kc.clear_faults()
    after = keycloak_sessions(kc, "mlflow")
    assert index.state == RealmIndex.State.DONE
    assert len(before - after) > 500  # the churn was real
    missing = after - indexed("mlflow")
    print(f"{len(before)} before, {len(after)} alive all along, {len(missing)} missing")
    assert not missing
    # And nothing that Keycloak never held.
    assert indexed("mlflow") <= before


def wait_until(condition, timeout_s: float, what: str) -> float:
    """Wait for `condition`; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout_s, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - started


def realm_index() -> RealmIndex:
    return RealmIndex.objects.filter(realm="mlflow").first() or RealmIndex(realm="mlflow")


@contextmanager
def refresh_in_background():
    """realm_index_refresh of mlflow in a thread (its own database connection), as a worker
    runs it: the heartbeat beats from a thread of its own."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["index"] = realm_index_refresh(realm="mlflow")
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield outcome
    finally:
        thread.join(timeout=120)


@pytest.mark.django_db(transaction=True)
def test_a_refresh_that_runs_longer_than_its_lease_is_never_doubled(kc):
    kc.seed(realm="mlflow", users=100, sessions=1500)
    # A slow Keycloak: three rounds of pages at 4 s each, longer than the lease.
    kc.fault(path=SESSION_LISTS, method="GET", latency_ms=4000)

    with refresh_in_background() as outcome:
        wait_until(lambda: realm_index().heartbeat_at is not None, 10, "the refresh to start")
        started = time.monotonic()
        while "index" not in outcome:
            if realm_index_claim(realm="mlflow") is not None:
                # Only once it is over: the refresh wrote its end before this claim.
                assert realm_index().refreshed_at is not None
                break
            refused_for_s = time.monotonic() - started
            time.sleep(0.5)
    kc.clear_faults()

    print(f"claims refused for {refused_for_s:.1f} s beside the running refresh")
    assert refused_for_s > 1.5 * LEASE_S
    assert realm_index().refreshed_at is not None
    assert indexed("mlflow") == keycloak_sessions(kc, "mlflow")


@pytest.mark.django_db(transaction=True)
def test_a_refresh_whose_worker_is_killed_is_cut_off_within_seconds_and_run_again(
    kc, celery_worker, redis_server, emulator, mail_sink, tmp_path, settings, client_as
):
    kc.seed(realm="mlflow", users=200, sessions=4000)
    kc.fault(path=SESSION_LISTS, method="GET", latency_ms=400)
    client = client_as("viewer")
    realm_index_refresh_task.delay("mlflow")
    wait_until(lambda: realm_index().progress_done >= 5, 30, "the refresh to get going")

    os.killpg(celery_worker.process.pid, signal.SIGKILL)
    celery_worker.process.wait()
    killed = realm_index()
    assert killed.state == RealmIndex.State.RUNNING
    assert killed.progress_done < killed.progress_total
    lapsed_after_s = wait_until(lambda: realm_index().lease_lapsed, 3 * LEASE_S, "the lapse")
    print(
        f"killed at {killed.progress_done} of {killed.progress_total} pages, "
        f"lease lapsed {lapsed_after_s:.1f} s later"
    )

    # The page stops polling and says what happened.
    response = client.get("/sessions/mlflow/index/progress", headers=HTMX)
    assert response.status_code == 286
    page = response.content.decode()
    assert "The last refresh was cut off at" in page
    assert 'hx-trigger="every 1s"' not in page
    # A beat tick (or "refresh now") takes the realm over at once.
    assert realm_index_claim(realm="mlflow") is not None
    RealmIndex.objects.filter(realm="mlflow").update(started_at=killed.started_at)  # undo
    kc.clear_faults()

    # The restarted worker runs the refresh again by itself.
    with celery_worker_running(
        redis=redis_server,
        emulator_url=emulator.base_url,
        mail_port=mail_sink.port,
        log_path=tmp_path / "worker-2.log",
        name="restarted",
        settings=settings,
    ):
        took_s = wait_until(
            lambda: realm_index().state == RealmIndex.State.DONE, 60, "the refresh to run again"
        )
    print(f"done again {took_s:.1f} s after the worker restarted")
    assert indexed("mlflow") == keycloak_sessions(kc, "mlflow")


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_fired_at_once_run_one_at_a_time(
    kc, redis_server, emulator, tmp_path, settings
):
    kc.seed(realm="mlflow", users=200, sessions=3000)
    # Slow pages: the first refresh runs for several seconds, the second starts beside it.
    kc.fault(path=SESSION_LISTS, method="GET", latency_ms=1500)
    celery_app_point_at(redis_server, settings)
    celery_app.control.purge()  # no task an earlier test left in the queue

    with celery_worker_running(
        redis=redis_server,
        emulator_url=emulator.base_url,
        mail_port=None,
        log_path=tmp_path / "worker.log",
        name="beats",
        settings=settings,
    ) as worker:
        first = realm_index_refresh_task.delay("mlflow")
        second = realm_index_refresh_task.delay("mlflow")
        states = sorted([first.get(timeout=60), second.get(timeout=60)])
    kc.clear_faults()

    assert states == [RealmIndex.State.DONE, RealmIndex.State.RUNNING], worker.log()
    assert worker.log().count("index refresh of mlflow: ") == 1
    assert indexed("mlflow") == keycloak_sessions(kc, "mlflow")


def slow_offline_lists(kc) -> None:
    """Online lists answer in 0.3 s, offline ones in 7 s (the gateway waits 10): a revoke
    made once online pages are read lands between the refresh's reads and its end, even on a
    loaded machine."""
    kc.fault(path=r"/clients/[^/]+/offline-sessions$", method="GET", latency_ms=7000)
    kc.fault(path=SESSION_LISTS, method="GET", latency_ms=300)


@pytest.mark.django_db(transaction=True)
def test_sessions_revoked_while_a_refresh_runs_are_not_brought_back(kc, acting_as):
    kc.seed(realm="mlflow", users=200, sessions=3000, clients=["mlflow"])
    operator = acting_as("operator")
    recipe = Recipe(kind=Kind.CLIENT, client_id="mlflow", include_offline=True)
    plan = revocation_plan_build(
        admin=operator.gateway, realm="mlflow", recipe=recipe, own_session_id=operator.session_id
    )
    job = revocation_job_create(plan=plan, actor=operator.user, reason="leaked")
    assert revocation_job_targets_build(job=job, admin=operator.gateway)
    revoked = set(job.items.values_list("session_id", "offline"))
    slow_offline_lists(kc)

    with refresh_in_background() as outcome:
        # Online pages read: the job revokes what the refresh has already read.
        wait_until(lambda: realm_index().progress_done >= 8, 30, "the refresh to read pages")
        revocation_job_run(job_id=job.pk)
        assert realm_index().state == RealmIndex.State.RUNNING  # the refresh is not over
    kc.clear_faults()

    job.refresh_from_db()
    assert job.is_done
    assert outcome["index"].state == RealmIndex.State.DONE
    back = indexed("mlflow") & revoked
    print(f"{len(revoked)} revoked during the refresh, {len(back)} back in the index")
    assert not back
    assert indexed("mlflow") == keycloak_sessions(kc, "mlflow")


@pytest.mark.django_db(transaction=True)
def test_everyone_signed_out_while_a_refresh_runs_is_not_brought_back(kc, acting_as):
    kc.seed(realm="mlflow", users=200, sessions=3000, offline_ratio=0.3)
    admin = acting_as("admin")
    slow_offline_lists(kc)

    with refresh_in_background() as outcome:
        wait_until(lambda: realm_index().progress_done >= 8, 30, "the refresh to read pages")
        realm_sign_out(admin=admin.gateway, realm="mlflow", actor=admin.user, reason="breach")
        assert realm_index().state == RealmIndex.State.RUNNING  # the refresh is not over
    kc.clear_faults()

    assert outcome["index"].state == RealmIndex.State.DONE
    # Keycloak 26.7's logout-all ends offline sessions too (the parity suite holds the
    # emulator to it): nothing the refresh read before it may come back, online or offline.
    back = IndexedSession.objects.filter(realm="mlflow").count()
    print(f"{back} sessions back in the index after logout-all")
    assert back == 0
    assert indexed("mlflow") == keycloak_sessions(kc, "mlflow") == set()
