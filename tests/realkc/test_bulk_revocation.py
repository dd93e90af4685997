"""A bulk revocation job run by a real Celery worker against real Keycloak: 200 sessions made by
real password grants, picked through the session index, revoked; Keycloak keeps none of them,
a bystander keeps theirs, and the job and its ledger entry count exactly."""

import time
import uuid

import pytest
import requests

from tokenadmin.accounts.models import User
from tokenadmin.keycloak import gateway_for_token
from tokenadmin.ledger.models import LedgerEntry, Outcome
from tokenadmin.revocation.bulk import Kind, Recipe, revocation_job_create, revocation_plan_build
from tokenadmin.revocation.jobs import job_counts
from tokenadmin.revocation.models import RevocationJob
from tokenadmin.revocation.tasks import revocation_job_run_task
from tokenadmin.sessionindex.models import RealmIndex
from tokenadmin.sessionindex.refresh import realm_index_refresh

from .conftest import ADMIN_PASSWORD, ADMIN_USERNAME, REALKC_TIMEOUT_S

pytestmark = pytest.mark.timeout(REALKC_TIMEOUT_S)

SESSIONS = 200


def wait_until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def admin_acting(realkc):
    """The bootstrapped admin's own token (admin-cli allows a password grant), and their user.

    admin-cli's tokens are lightweight in Keycloak 26 (no sub, no roles): the user's id comes
    from the admin API and the session's from the token answer."""
    answer = requests.post(
        f"{realkc.keycloak.base_url}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": ADMIN_USERNAME,
            "password": ADMIN_PASSWORD,
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    user, _ = User.objects.get_or_create(
        keycloak_sub=realkc.user_id("master", ADMIN_USERNAME),
        defaults={"username": ADMIN_USERNAME},
    )
    gateway = gateway_for_token(tokens["access_token"], tokens["expires_in"])
    return gateway, user, tokens["session_state"]


def test_a_worker_revokes_200_real_sessions_with_exact_counts(realkc, realkc_worker):
    realm = realkc.realm
    target_user = f"bulk-{uuid.uuid4().hex[:6]}"
    bystander = f"bystander-{uuid.uuid4().hex[:6]}"
    realkc.user_create(realm, target_user, "bulk-password")
    realkc.user_create(realm, bystander, "bystander-password")
    made = set(realkc.sessions_make(realm, target_user, "bulk-password", SESSIONS))
    kept = set(realkc.sessions_make(realm, bystander, "bystander-password", 2))
    assert realkc.user_session_ids(realm, target_user) == made

    # The sessions page's "revoke all matching" for a search on the user, over a fresh index.
    index = realm_index_refresh(realm=realm)
    assert index.state == RealmIndex.State.DONE, index.error
    gateway, admin, own_sid = admin_acting(realkc)
    recipe = Recipe(kind=Kind.FILTER, query={"q": target_user})
    plan = revocation_plan_build(admin=gateway, realm=realm, recipe=recipe, own_session_id=own_sid)
    assert plan.count == SESSIONS
    assert {t.session_id for t in plan.sample} <= made
    job = revocation_job_create(plan=plan, actor=admin, reason="bulk test", ticket="T-14")
    assert job.total == SESSIONS

    # One session ends in Keycloak before the job reaches it: the job counts it already gone.
    gone = sorted(made)[0]
    ended = realkc.keycloak.admin_api("DELETE", f"/admin/realms/{realm}/sessions/{gone}")
    assert ended.status_code == 204, ended.text

    started = time.monotonic()
    revocation_job_run_task.delay(job.pk)
    wait_until(lambda: RevocationJob.objects.get(pk=job.pk).is_done, 180, "the job to finish")
    took_s = time.monotonic() - started

    counts = job_counts(job)
    assert (counts.pending, counts.done, counts.already_gone, counts.failed) == (
        0,
        SESSIONS - 1,
        1,
        0,
    ), f"{counts} in {took_s:.1f} s"
    assert realkc.user_session_ids(realm, target_user) == set()
    assert realkc.user_session_ids(realm, bystander) == kept

    job.refresh_from_db()
    entry = LedgerEntry.objects.get(pk=job.ledger_entry_id)
    assert entry.outcome == Outcome.SUCCEEDED
    assert entry.after == {"revoked": SESSIONS - 1, "already_gone": 1, "failed": 0}
    assert entry.before["sessions"] == SESSIONS
    assert (entry.actor_username, entry.realm, entry.ticket) == (ADMIN_USERNAME, realm, "T-14")
    assert LedgerEntry.objects.filter(target_type="bulk_job", target_id=str(job.pk)).count() == 1
