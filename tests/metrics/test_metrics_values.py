"""What /metrics says equals what the index, the jobs and the report runs hold."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.reports.conftest import report_create
from tokenadmin.reports.models import ReportRun
from tokenadmin.revocation.models import RevocationItem, RevocationJob
from tokenadmin.sessionindex.forget import indexed_sessions_forget
from tokenadmin.sessionindex.models import IndexedSession, RealmIndex
from tokenadmin.sessionindex.refresh import realm_index_refresh

from .conftest import scrape

pytestmark = pytest.mark.django_db

# The Wallaroo-style realm: two clients, regular and offline sessions.
REALM = "master"
CLIENTS = ["api-client", "sdk-client"]


def live_rows(realm: str):
    now = timezone.now()
    return IndexedSession.objects.filter(realm=realm).exclude(expires_at__lte=now)


def by_client_and_type(realm: str) -> dict[tuple[str, str], int]:
    counted: dict[tuple[str, str], int] = {}
    for text, offline in live_rows(realm).values_list("client_ids_text", "offline"):
        for client_id in text.split():
            key = (client_id, "offline" if offline else "regular")
            counted[key] = counted.get(key, 0) + 1
    return counted


def seeded(kc) -> None:
    kc.seed(realm=REALM, users=30, sessions=240, offline_ratio=0.3, clients=CLIENTS)
    index = realm_index_refresh(realm=REALM)
    assert index.state == "done", index.error


def test_index_gauges_equal_the_live_rows(kc, client, metrics_on):
    seeded(kc)
    before = timezone.now()
    samples = scrape(client)
    after = timezone.now()

    reported = {
        (dict(labels)["client"], dict(labels)["type"]): value
        for labels, value in samples["tokenadmin_index_sessions"].items()
        if dict(labels)["realm"] == REALM
    }
    expected = by_client_and_type(REALM)
    assert len(expected) >= 4  # several clients, both types
    assert reported == expected

    rows = live_rows(REALM)
    totals = samples["tokenadmin_index_sessions_total_live"]
    regular = rows.filter(offline=False).count()
    offline = rows.filter(offline=True).count()
    assert totals[(("realm", REALM), ("type", "regular"))] == regular
    assert totals[(("realm", REALM), ("type", "offline"))] == offline
    users = rows.values("user_id").distinct().count()
    assert samples["tokenadmin_index_users"][(("realm", REALM),)] == users

    expiring = {
        dict(labels)["within"]: value
        for labels, value in samples["tokenadmin_index_sessions_expiring"].items()
    }
    assert sum(expiring.values()) == regular + offline
    within_1h = rows.filter(expires_at__lte=timezone.now() + timedelta(hours=1)).count()
    assert expiring["1h"] == within_1h

    idle = {
        dict(labels)["idle"]: value
        for labels, value in samples["tokenadmin_index_offline_sessions_idle"].items()
    }
    offline_rows = IndexedSession.objects.filter(realm=REALM, offline=True)
    assert sum(idle.values()) == offline_rows.count()
    day_ago = timezone.now() - timedelta(days=1)
    assert idle["1d"] == offline_rows.filter(last_access_at__gte=day_ago).count()

    index = RealmIndex.objects.get(realm=REALM)
    age = samples["tokenadmin_index_age_seconds"][(("realm", REALM),)]
    since = (
        (before - index.refreshed_at).total_seconds(),
        (after - index.refreshed_at).total_seconds(),
    )
    assert since[0] <= age <= since[1]
    took = samples["tokenadmin_index_last_refresh_duration_seconds"][(("realm", REALM),)]
    assert took == pytest.approx((index.refreshed_at - index.started_at).total_seconds())
    assert samples["tokenadmin_index_last_refresh_failed"][(("realm", REALM),)] == 0


def test_clients_beyond_the_top_n_fold_into_other(kc, client, metrics_on):
    seeded(kc)
    metrics_on.METRICS_TOP_CLIENTS = 1
    samples = scrape(client)["tokenadmin_index_sessions"]

    clients = {dict(labels)["client"] for labels in samples}
    assert len(clients) == 2 and "other" in clients
    expected = by_client_and_type(REALM)
    for kind in ("regular", "offline"):
        reported = sum(v for labels, v in samples.items() if dict(labels)["type"] == kind)
        assert reported == sum(n for (_c, t), n in expected.items() if t == kind)


def test_revocation_and_report_outcomes_equal_their_rows(client, metrics_on):
    job = RevocationJob.objects.create(
        realm="mlflow",
        action="bulk_revocation",
        label="3 sessions",
        actor_username="operator",
        reason="test",
        total=4,
        state=RevocationJob.State.DONE,
    )
    RevocationJob.objects.create(
        realm="mlflow", action="bulk_revocation", label="x", actor_username="operator",
        reason="test", state=RevocationJob.State.STOPPED,
    )  # fmt: skip
    states = ["done", "done", "already_gone", "failed"]
    RevocationItem.objects.bulk_create(
        RevocationItem(job=job, session_id=f"s-{n}", state=state) for n, state in enumerate(states)
    )
    report = report_create(realms=["mlflow"])
    now = timezone.now()
    ReportRun.objects.create(report=report, slot=now, state="sent", recipients=["a@x", "b@x"])
    ReportRun.objects.create(
        report=report, slot=now - timedelta(days=1), state="failed", recipients=["a@x"]
    )

    samples = scrape(client)
    jobs = samples["tokenadmin_revocation_jobs"]
    assert jobs[(("state", "done"),)] == 1 and jobs[(("state", "stopped"),)] == 1
    assert jobs[(("state", "running"),)] == 0
    items = samples["tokenadmin_revocation_items"]
    assert items[(("outcome", "done"),)] == 2
    assert items[(("outcome", "already_gone"),)] == 1
    assert items[(("outcome", "failed"),)] == 1
    runs = samples["tokenadmin_report_runs"]
    assert runs[(("outcome", "sent"),)] == 1 and runs[(("outcome", "failed"),)] == 1
    mails = samples["tokenadmin_report_deliveries"]
    assert mails[(("outcome", "sent"),)] == 2 and mails[(("outcome", "failed"),)] == 1


def keycloak_calls(samples: dict, endpoint: str) -> float:
    counted = samples.get("tokenadmin_keycloak_calls_total", {})
    return sum(v for labels, v in counted.items() if dict(labels)["endpoint"] == endpoint)


def test_keycloak_calls_of_a_refresh_are_counted_by_endpoint_and_status(kc, client, metrics_on):
    before = scrape(client)
    seeded(kc)
    after = scrape(client)

    endpoint = "GET clients/{id}/offline-sessions"
    assert keycloak_calls(after, endpoint) - keycloak_calls(before, endpoint) >= len(CLIENTS)
    statuses = {dict(labels)["status"] for labels in after["tokenadmin_keycloak_calls_total"]}
    assert "200" in statuses
    count = after["tokenadmin_keycloak_call_seconds_count"]
    assert sum(count.values()) == sum(after["tokenadmin_keycloak_calls_total"].values())


CALLS_IN_A_PROCESS = """
from tokenadmin.keycloak.call_metrics import keycloak_call_observed
for _ in range({n}):
    with keycloak_call_observed("DELETE", "/admin/realms/mlflow/sessions/abc") as answered:
        answered({status})
"""


def test_calls_made_in_other_processes_add_up_in_multiprocess_mode(
    client, metrics_on, tmp_path, monkeypatch
):
    # Two "workers" count calls into the shared folder; the web process's scrape adds them up.
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n, status in ((3, 204), (2, 404)):
        code = CALLS_IN_A_PROCESS.format(n=n, status=status)
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    counted = scrape(client)["tokenadmin_keycloak_calls_total"]
    endpoint = ("endpoint", "DELETE sessions/{id}")
    assert counted[(endpoint, ("status", "204"))] == 3
    assert counted[(endpoint, ("status", "404"))] == 2


def test_a_revoke_and_a_refresh_show_at_the_next_scrape(kc, client, metrics_on):
    # /metrics keeps each realm's decoded figures between scrapes: a rewrite must show.
    seeded(kc)
    offline_total = (("realm", REALM), ("type", "offline"))
    before = scrape(client)
    gone = IndexedSession.objects.filter(realm=REALM, offline=True).first()
    indexed_sessions_forget(realm=REALM, session_ids=[gone.session_id], offline=True)
    after = scrape(client)
    dropped = before["tokenadmin_index_sessions_total_live"][offline_total] - 1
    assert after["tokenadmin_index_sessions_total_live"][offline_total] == dropped
    idle = after["tokenadmin_index_offline_sessions_idle"]
    assert sum(idle.values()) == IndexedSession.objects.filter(realm=REALM, offline=True).count()

    kc.seed(realm=REALM, users=5, sessions=40, offline_ratio=0.5, clients=CLIENTS)
    realm_index_refresh(realm=REALM)
    again = scrape(client)
    assert again["tokenadmin_index_sessions"] == {
        ((("client", c), ("realm", REALM), ("type", t))): n
        for (c, t), n in by_client_and_type(REALM).items()
    }
