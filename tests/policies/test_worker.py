"""In a real Celery worker: a refresh task, then its findings, then the realm's enforcing policy,
whose job (too big to run inline) the worker then runs."""

import time

from tests.fixtures.emulator import Emulator
from tokenadmin.findings.services import realm_thresholds_set
from tokenadmin.policies.models import PolicyRun
from tokenadmin.policies.services import policy_enforce
from tokenadmin.revocation.launch import INLINE_LIMIT
from tokenadmin.revocation.models import RevocationJob
from tokenadmin.sessionindex.tasks import realm_index_refresh_task

from .conftest import DAY, held_by_keycloak, policy_make


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def test_an_enforcing_policy_runs_after_a_refresh_on_the_worker_and_its_job_is_queued(
    kc: Emulator, acting_as, celery_worker
):
    hoarder = kc.admin("mlflow").create_user({"username": "stale", "enabled": True})
    now = kc.now()
    many = INLINE_LIMIT + 5
    for _ in range(many):
        kc.create_session(
            realm="mlflow",
            username="stale",
            client_id="mlflow",
            offline=True,
            start=now - 40 * DAY,
            last_access=now - 20 * DAY,
        )
    realm_thresholds_set(
        realm="mlflow", offline_idle_days=14, max_sessions_per_user=500, max_addresses_per_user=50
    )
    operator = acting_as("operator")
    policy = policy_make()
    policy_enforce(policy=policy, actor=operator.user, own_session_id="", typed_realm="mlflow")
    assert len(held_by_keycloak(kc, "mlflow", hoarder, "mlflow")) == many

    realm_index_refresh_task.delay("mlflow")

    run = wait_for(lambda: PolicyRun.objects.filter(policy=policy).first(), 60, "the policy run")
    assert run.outcome == PolicyRun.Outcome.STARTED and run.count == many
    assert run.trigger == "after findings"
    job = wait_for(
        lambda: RevocationJob.objects.filter(pk=run.job_id, state="done").first(), 60, "the job"
    )
    assert job.total == many
    assert held_by_keycloak(kc, "mlflow", hoarder, "mlflow") == set()
