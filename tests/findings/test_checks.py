"""Each condition made in the emulator, indexed by a real refresh: the finding appears, says
why, names its sessions, and closes itself once the condition is gone."""

from datetime import UTC, datetime

import pytest

from tokenadmin.findings.models import Finding, Kind, Severity
from tokenadmin.findings.services import findings_run, realm_thresholds_set
from tokenadmin.findings.tasks import findings_after_refresh
from tokenadmin.keycloak import gateway_for_worker
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.django_db

DAY = 86400


def kc_now(kc) -> datetime:
    return datetime.fromtimestamp(kc.now(), tz=UTC)


def refresh_and_check(kc, realm: str = "mlflow") -> dict[str, int]:
    assert realm_index_refresh(realm=realm).state == "done"
    return findings_run(realm=realm, now=kc_now(kc))


def open_of(kind: str, subject: str | None = None) -> list[Finding]:
    found = Finding.objects.filter(realm="mlflow", kind=kind, closed_at__isnull=True)
    return list(found.filter(subject=subject) if subject else found)


def new_user(kc, username: str) -> str:
    """A user of its own: the demo seed's users already hold sessions."""
    return kc.admin("mlflow").create_user({"username": username, "enabled": True})


def test_an_idle_offline_session_is_found_and_the_finding_closes_when_keycloak_drops_it(kc):
    subject = new_user(kc, "idler")
    now = kc.now()
    idle = kc.create_session(
        realm="mlflow",
        username="idler",
        client_id="mlflow",
        offline=True,
        start=now - 40 * DAY,
        last_access=now - 20 * DAY,
    )
    fresh = kc.create_session(realm="mlflow", username="idler", client_id="mlflow", offline=True)

    assert refresh_and_check(kc)["opened"] == 1
    [finding] = open_of(Kind.OFFLINE_IDLE)
    assert finding.subject == subject
    assert finding.sessions == [f"{idle['id']}:offline"]  # not the one used today
    assert f"{fresh['id']}:offline" not in finding.sessions
    assert finding.severity == Severity.MEDIUM
    assert "idler holds 1 offline session(s) unused for more than 14 days" in (finding.explanation)

    # Eleven days on, the session has been idle 31 days: Keycloak (offline idle 30 days) drops it.
    kc.advance(11 * DAY)
    assert refresh_and_check(kc)["closed"] == 1
    assert open_of(Kind.OFFLINE_IDLE) == []
    assert Finding.objects.get(pk=finding.pk).closed_at is not None


def test_a_user_over_the_session_limit_is_found_until_signed_out(kc):
    subject = new_user(kc, "busy")
    realm_thresholds_set(
        realm="mlflow", offline_idle_days=14, max_sessions_per_user=3, max_addresses_per_user=50
    )
    made = [
        kc.create_session(realm="mlflow", username="busy", client_id="mlflow") for _ in range(4)
    ]
    refresh_and_check(kc)
    [finding] = open_of(Kind.MANY_SESSIONS)
    assert sorted(finding.sessions) == sorted(s["id"] for s in made)
    assert "busy has 4 concurrent sessions (more than 3)" in finding.explanation
    assert finding.severity == Severity.MEDIUM

    # Checked again with nothing changed: the same finding stays open, not a second one.
    assert refresh_and_check(kc) == {"opened": 0, "kept": 1, "closed": 0}

    kc.admin("mlflow").user_logout(subject)
    assert refresh_and_check(kc)["closed"] == 1
    assert open_of(Kind.MANY_SESSIONS) == []


def test_sessions_from_many_addresses_are_found_and_clear_when_under_a_raised_threshold(kc):
    new_user(kc, "roamer")
    realm_thresholds_set(
        realm="mlflow", offline_idle_days=14, max_sessions_per_user=50, max_addresses_per_user=2
    )
    for n in range(7):
        kc.create_session(
            realm="mlflow", username="roamer", client_id="mlflow", ip=f"198.51.100.{n}"
        )
    refresh_and_check(kc)
    [finding] = open_of(Kind.MANY_ADDRESSES)
    assert len(finding.sessions) == 7
    assert "sessions from 7 different addresses (more than 2)" in finding.explanation
    assert finding.severity == Severity.HIGH  # more than twice the threshold

    realm_thresholds_set(
        realm="mlflow", offline_idle_days=14, max_sessions_per_user=50, max_addresses_per_user=10
    )
    assert findings_run(realm="mlflow", now=kc_now(kc))["closed"] == 1
    assert open_of(Kind.MANY_ADDRESSES) == []


def test_the_checks_run_after_a_completed_refresh_task_and_not_after_a_failed_one(kc):
    subject = new_user(kc, "twice")
    realm_thresholds_set(
        realm="mlflow", offline_idle_days=14, max_sessions_per_user=1, max_addresses_per_user=50
    )
    for _ in range(2):
        kc.create_session(realm="mlflow", username="twice", client_id="mlflow")
    assert realm_index_refresh(realm="mlflow").state == "done"
    name = "tokenadmin.sessionindex.tasks.realm_index_refresh_task"

    findings_after_refresh(task_name=name, args=["mlflow"], kwargs={}, retval="failed")
    assert open_of(Kind.MANY_SESSIONS, subject) == []

    findings_after_refresh(task_name=name, args=["mlflow"], kwargs={}, retval="done")
    assert len(open_of(Kind.MANY_SESSIONS, subject)) == 1

    kc.admin("mlflow").user_logout(subject)
    assert realm_index_refresh(realm="mlflow").state == "done"
    every = "tokenadmin.sessionindex.tasks.realm_index_refresh_all_task"
    findings_after_refresh(task_name=every, args=[], kwargs={}, retval={"mlflow": "done"})
    assert open_of(Kind.MANY_SESSIONS, subject) == []


def test_a_disabled_users_sessions_are_found_through_keycloak_and_clear_when_re_enabled(kc):
    admin = kc.admin("mlflow")
    subject = new_user(kc, "leaver")
    kc.create_session(realm="mlflow", username="leaver", client_id="mlflow")
    kc.create_session(realm="mlflow", username="leaver", client_id="mlflow", offline=True)
    admin.update_user(subject, {"enabled": False})
    assert realm_index_refresh(realm="mlflow").state == "done"

    findings_run(realm="mlflow", gateway=gateway_for_worker(), now=kc_now(kc))
    [finding] = open_of(Kind.DISABLED_USER, subject)
    assert finding.severity == Severity.HIGH
    assert len(finding.sessions) == 2
    assert "leaver is disabled in Keycloak but still holds 2 session(s), 1 of them offline" in (
        finding.explanation
    )

    # Keycloak refusing (or no gateway): the check is skipped, its finding stays open.
    admin.update_user(subject, {"enabled": True})
    kc.fault("/admin/realms/mlflow/users", status=403)
    try:
        counts = findings_run(realm="mlflow", gateway=gateway_for_worker(), now=kc_now(kc))
    finally:
        kc.clear_faults()
    assert counts["closed"] == 0
    assert open_of(Kind.DISABLED_USER, subject) == [finding]

    findings_run(realm="mlflow", gateway=gateway_for_worker(), now=kc_now(kc))
    assert open_of(Kind.DISABLED_USER, subject) == []


def test_the_refresh_task_itself_runs_the_checks_once_it_completes(kc):
    # Task.apply runs the task as a worker does, signals included (task_postrun).
    from tokenadmin.sessionindex.tasks import realm_index_refresh_task

    subject = new_user(kc, "tasked")
    realm_thresholds_set(
        realm="mlflow", offline_idle_days=14, max_sessions_per_user=1, max_addresses_per_user=50
    )
    for _ in range(2):
        kc.create_session(realm="mlflow", username="tasked", client_id="mlflow")

    assert realm_index_refresh_task.apply(args=["mlflow"]).get() == "done"
    assert len(open_of(Kind.MANY_SESSIONS, subject)) == 1


def test_sessions_are_counted_online_only_and_addresses_over_every_live_session(kc):
    subject = new_user(kc, "mixed")
    realm_thresholds_set(
        realm="mlflow", offline_idle_days=14, max_sessions_per_user=2, max_addresses_per_user=3
    )
    made = [
        kc.create_session(
            realm="mlflow", username="mixed", client_id="mlflow", offline=n >= 2, ip=f"10.7.0.{n}"
        )
        for n in range(4)
    ]
    refresh_and_check(kc)

    # Two online sessions: at the limit (the two offline ones do not count as concurrent).
    assert open_of(Kind.MANY_SESSIONS, subject) == []
    # Four addresses over online and offline sessions together: over the limit of three.
    [finding] = open_of(Kind.MANY_ADDRESSES, subject)
    assert sorted(finding.sessions) == sorted(
        [made[0]["id"], made[1]["id"], f"{made[2]['id']}:offline", f"{made[3]['id']}:offline"]
    )
    assert "mixed has sessions from 4 different addresses (more than 3)" in finding.explanation


def test_a_finding_whose_sessions_changed_is_updated_and_an_unchanged_one_is_not_rewritten(kc):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    realm_thresholds_set(
        realm="mlflow", offline_idle_days=14, max_sessions_per_user=2, max_addresses_per_user=50
    )
    for username in ("grower", "steady"):
        new_user(kc, username)
        for _ in range(3):
            kc.create_session(realm="mlflow", username=username, client_id="mlflow")
    refresh_and_check(kc)
    grower = Finding.objects.get(kind=Kind.MANY_SESSIONS, subject_label="grower", closed_at=None)
    steady = Finding.objects.get(kind=Kind.MANY_SESSIONS, subject_label="steady", closed_at=None)
    added = kc.create_session(realm="mlflow", username="grower", client_id="mlflow")

    assert realm_index_refresh(realm="mlflow").state == "done"
    with CaptureQueriesContext(connection) as queries:
        counts = findings_run(realm="mlflow", now=kc_now(kc))

    assert counts == {"opened": 0, "kept": 2, "closed": 0}
    grown = Finding.objects.get(pk=grower.pk)
    assert len(grown.sessions) == 4 and added["id"] in grown.sessions
    assert "grower has 4 concurrent sessions (more than 2)" in grown.explanation
    kept = Finding.objects.get(pk=steady.pk)
    assert (kept.sessions, kept.explanation) == (steady.sessions, steady.explanation)
    # One write of what a finding says, for the grown finding alone.
    rewrites = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "findings_finding"') and '"explanation"' in q["sql"]
    ]
    assert len(rewrites) == 1
    assert f'"id" IN ({grower.pk})' in rewrites[0]
