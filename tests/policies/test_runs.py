"""A policy's runs against the emulator: a dry run changes nothing in Keycloak, an enforcing run
revokes exactly what it reports (never the sessions of the admin who switched it on), the cap
stops a run and raises a finding, and the ledger names the policy."""

import pytest

from tokenadmin.findings.models import Finding, Kind
from tokenadmin.findings.services import findings_run, realm_thresholds_set
from tokenadmin.ledger.models import Action, LedgerEntry
from tokenadmin.policies.models import Mode, PolicyRun
from tokenadmin.policies.runs import policies_after_findings_run, policy_run
from tokenadmin.policies.services import (
    REALM_NAME_MISMATCH,
    PolicyError,
    policy_dry_run_set,
    policy_enforce,
)
from tokenadmin.revocation.models import RevocationJob

from .conftest import held_by_keycloak, kc_now, policy_make, refresh_and_check

pytestmark = pytest.mark.django_db


def test_a_dry_run_reports_the_idle_sessions_and_changes_nothing_in_keycloak(kc, idle_offline):
    idler, idle, before, keeper = idle_offline
    policy = policy_make()

    run = policy_run(policy=policy)

    assert run.outcome == PolicyRun.Outcome.REPORTED
    assert set(run.targets) == idle and run.count == 3 and run.offline_count == 3
    assert {t["username"] for t in run.sample} == {"idler"}
    assert run.findings == 1 and run.job is None
    assert held_by_keycloak(kc, "mlflow", idler, "mlflow") == before
    assert len(held_by_keycloak(kc, "mlflow", keeper, "mlflow")) == 1
    assert not RevocationJob.objects.exists()
    # Kept in the history, run after run.
    policy_run(policy=policy)
    assert policy.runs.count() == 2


def test_enforce_revokes_exactly_the_reported_set_and_the_ledger_names_the_policy(
    kc, idle_offline, acting_as
):
    idler, idle, before, keeper = idle_offline
    operator = acting_as("operator")
    policy = policy_make()
    reported = set(policy_run(policy=policy).targets)

    policy_enforce(
        policy=policy,
        actor=operator.user,
        own_session_id=operator.session_id,
        typed_realm="mlflow",
    )
    run = policy_run(policy=policy)

    assert run.outcome == PolicyRun.Outcome.STARTED and set(run.targets) == reported
    job = RevocationJob.objects.get(pk=run.job_id)
    assert job.state == RevocationJob.State.DONE and job.total == 3
    assert held_by_keycloak(kc, "mlflow", idler, "mlflow") == before - idle  # the 2 in use stay
    assert len(held_by_keycloak(kc, "mlflow", keeper, "mlflow")) == 1
    entry = LedgerEntry.objects.get(pk=job.ledger_entry_id)
    assert entry.action == Action.BULK_REVOCATION
    assert entry.actor_username == "operator"
    assert f"Revocation policy “idle offline” (#{policy.pk})" in entry.reason
    assert "switched to enforce by operator" in entry.reason
    assert entry.ticket == f"policy #{policy.pk}"
    assert entry.after == {"revoked": 3, "already_gone": 0, "failed": 0}


def test_the_switch_to_enforce_needs_the_typed_realm_name_and_both_switches_are_in_the_ledger(
    acting_as,
):
    operator = acting_as("operator")
    policy = policy_make()
    with pytest.raises(PolicyError, match=REALM_NAME_MISMATCH):
        policy_enforce(policy=policy, actor=operator.user, own_session_id="", typed_realm="mlflo")
    policy.refresh_from_db()
    assert policy.mode == Mode.DRY_RUN
    assert not LedgerEntry.objects.filter(action=Action.POLICY_ENFORCED).exists()

    policy_enforce(policy=policy, actor=operator.user, own_session_id="s1", typed_realm="mlflow")
    policy_dry_run_set(policy=policy, actor=operator.user)

    on = LedgerEntry.objects.get(action=Action.POLICY_ENFORCED)
    off = LedgerEntry.objects.get(action=Action.POLICY_DRY_RUN)
    for entry in (on, off):
        assert entry.realm == "mlflow" and entry.actor_username == "operator"
        assert entry.target_type == "policy" and entry.target_id == str(policy.pk)
        assert entry.target_label == "Revocation policy “idle offline”"
    assert (on.before["mode"], on.after["mode"]) == ("dry_run", "enforce")
    assert (off.before["mode"], off.after["mode"]) == ("enforce", "dry_run")
    policy.refresh_from_db()
    assert policy.mode == Mode.DRY_RUN and policy.enforced_by is None


def test_the_cap_stops_a_run_before_revoking_and_raises_one_finding_until_back_under(
    kc, idle_offline, acting_as
):
    idler, idle, before, _ = idle_offline
    operator = acting_as("operator")
    policy = policy_make(max_sessions=2)
    policy_enforce(policy=policy, actor=operator.user, own_session_id="", typed_realm="mlflow")

    run = policy_run(policy=policy)

    assert run.outcome == PolicyRun.Outcome.CAPPED and run.cap == 2 and run.count == 3
    assert set(run.targets) == idle
    assert held_by_keycloak(kc, "mlflow", idler, "mlflow") == before
    assert not RevocationJob.objects.exists()
    [capped] = Finding.objects.filter(kind=Kind.POLICY_CAPPED, closed_at__isnull=True)
    assert capped.realm == "mlflow" and capped.subject_label == "idle offline"
    assert "would revoke 3 session(s), more than its cap of 2" in capped.explanation
    assert set(capped.sessions) == idle

    # The checks' own run leaves it open (it is not theirs); the next capped run updates it.
    findings_run(realm="mlflow", now=kc_now(kc))
    assert Finding.objects.get(pk=capped.pk).closed_at is None
    policy_run(policy=policy)
    [again] = Finding.objects.filter(kind=Kind.POLICY_CAPPED, closed_at__isnull=True)
    assert again.pk == capped.pk
    assert Finding.objects.filter(kind=Kind.POLICY_CAPPED).count() == 1

    # A share of the realm caps as well: 3 sessions are more than 1 % of this realm.
    policy.max_sessions, policy.max_share_percent = 500, 1
    policy.save()
    assert policy_run(policy=policy).outcome == PolicyRun.Outcome.CAPPED

    policy_dry_run_set(policy=policy, actor=operator.user)  # no longer stopped at its cap
    assert not Finding.objects.filter(kind=Kind.POLICY_CAPPED, closed_at__isnull=True).exists()
    assert policy_run(policy=policy).outcome == PolicyRun.Outcome.CAPPED  # a dry run: reported
    assert not Finding.objects.filter(kind=Kind.POLICY_CAPPED, closed_at__isnull=True).exists()
    policy_enforce(policy=policy, actor=operator.user, own_session_id="", typed_realm="mlflow")
    assert policy_run(policy=policy).outcome == PolicyRun.Outcome.CAPPED
    [anew] = Finding.objects.filter(kind=Kind.POLICY_CAPPED, closed_at__isnull=True)
    assert anew.pk != capped.pk  # a new episode, not the one the switch closed

    policy.max_share_percent = 100
    policy.save()
    assert policy_run(policy=policy).outcome == PolicyRun.Outcome.STARTED
    assert not Finding.objects.filter(kind=Kind.POLICY_CAPPED, closed_at__isnull=True).exists()
    assert held_by_keycloak(kc, "mlflow", idler, "mlflow") == before - idle


def test_an_enforcing_run_never_revokes_the_sessions_of_the_admin_who_switched_it_on(kc, acting_as):
    master = kc.admin("master")
    master.create_user({"username": "hoarder", "enabled": True})
    hoarded = {
        kc.create_session(realm="master", username="hoarder", client_id="tokenadmin")["id"]
        for _ in range(3)
    }
    operator = acting_as("operator")
    also_operator = acting_as("operator")  # a second sign-in: another session of theirs
    realm_thresholds_set(
        realm="master", offline_idle_days=14, max_sessions_per_user=1, max_addresses_per_user=50
    )
    refresh_and_check(kc, realm="master")
    flagged = {
        key
        for f in Finding.objects.filter(realm="master", kind=Kind.MANY_SESSIONS)
        for key in f.sessions
    }
    assert {operator.session_id, also_operator.session_id} | hoarded <= flagged
    policy = policy_make(realm="master", name="hoarders", kind="many_sessions")
    policy_enforce(
        policy=policy, actor=operator.user, own_session_id=operator.session_id, typed_realm="master"
    )

    run = policy_run(policy=policy)

    assert run.outcome == PolicyRun.Outcome.STARTED
    assert hoarded <= set(run.targets)
    spared = {ex["session_id"] for ex in run.excluded}
    assert {operator.session_id, also_operator.session_id} <= spared
    assert not spared & set(run.targets)
    operator_id = operator.user.keycloak_sub
    assert {operator.session_id, also_operator.session_id} <= held_by_keycloak(
        kc, "master", operator_id, "tokenadmin"
    )
    hoarder_id = master.get_user_id("hoarder")
    assert held_by_keycloak(kc, "master", hoarder_id, "tokenadmin") == set()
    # The operator's token still works: their session is alive.
    assert operator.gateway.users_disabled("mlflow") is not None


def test_the_policies_run_after_the_checks_of_a_refresh_task_in_the_same_worker(kc, idle_offline):
    from celery.signals import task_postrun

    from tokenadmin.sessionindex.tasks import realm_index_refresh_task

    policy = policy_make()
    Finding.objects.all().delete()  # the refresh task's own checks must open it again first

    task_postrun.send(
        sender=realm_index_refresh_task,
        task_id="t",
        task=None,
        args=["mlflow"],
        kwargs={},
        retval="done",
        state="SUCCESS",
    )

    [run] = policy.runs.all()
    assert run.outcome == PolicyRun.Outcome.REPORTED and run.count == 3
    task_postrun.send(
        sender=realm_index_refresh_task,
        task_id="t",
        task=None,
        args=["mlflow"],
        kwargs={},
        retval="failed",
        state="SUCCESS",
    )
    assert policy.runs.count() == 1


def test_a_failing_policy_does_not_stop_the_others(kc, idle_offline):
    broken = policy_make(name="broken", max_share_percent=100)
    fine = policy_make(name="fine")
    broken.mode, broken.enforced_by = Mode.ENFORCE, None  # no admin to act for
    broken.save()
    runs = policies_after_findings_run(realm="mlflow")
    by_policy = {run.policy_id: run for run in runs}
    assert by_policy[broken.pk].outcome == PolicyRun.Outcome.FAILED
    assert by_policy[fine.pk].outcome == PolicyRun.Outcome.REPORTED
    assert not RevocationJob.objects.exists()


def test_a_policy_leaves_muted_findings_and_lower_severities_alone(kc, idle_offline, acting_as):
    from tokenadmin.findings.services import finding_mute

    _, idle, _, _ = idle_offline
    [finding] = Finding.objects.filter(kind=Kind.OFFLINE_IDLE, closed_at__isnull=True)
    assert finding.severity == "medium"
    assert policy_run(policy=policy_make(name="high only", min_severity="high")).count == 0
    assert set(policy_run(policy=policy_make(name="medium up", min_severity="medium")).targets) == (
        idle
    )

    finding_mute(finding=finding, actor=acting_as("operator").user, reason="kiosk, known")
    run = policy_run(policy=policy_make(name="any"))
    assert run.outcome == PolicyRun.Outcome.NOTHING and run.findings == 0 and run.targets == []


def test_keycloak_down_at_an_enforcing_run_leaves_the_job_waiting_and_says_so(
    kc, idle_offline, acting_as
):
    from tokenadmin.revocation.jobs import revocation_job_run

    idler, idle, before, _ = idle_offline
    operator = acting_as("operator")
    policy = policy_make()
    policy_enforce(policy=policy, actor=operator.user, own_session_id="", typed_realm="mlflow")
    kc.fault(path=r"/realms/master/protocol/openid-connect/token", status=503)
    try:
        run = policy_run(policy=policy)
    finally:
        kc.clear_faults()

    assert run.outcome == PolicyRun.Outcome.STARTED
    assert "Keycloak did not answer" in run.detail and "the job waits" in run.detail
    job = RevocationJob.objects.get(pk=run.job_id)
    assert job.state == RevocationJob.State.PENDING
    assert held_by_keycloak(kc, "mlflow", idler, "mlflow") == before
    # What the sweeper's task does with a job waiting too long.
    revocation_job_run(job_id=job.pk)
    assert held_by_keycloak(kc, "mlflow", idler, "mlflow") == before - idle


def test_old_runs_are_dropped_beyond_the_kept_number(kc, idle_offline):
    from datetime import timedelta

    from tokenadmin.policies.runs import policy_runs_prune

    policy = policy_make()
    start = kc_now(kc)
    for n in range(5):
        policy_run(policy=policy, now=start + timedelta(minutes=n))
    assert policy_runs_prune(policy=policy, keep=3) == 2
    kept = list(policy.runs.order_by("ran_at").values_list("ran_at", flat=True))
    assert kept == [start + timedelta(minutes=n) for n in (2, 3, 4)]
    assert policy_runs_prune(policy=policy, keep=3) == 0
