from tests.fixtures.jobs import client_job, client_sessions_count
from tokenadmin.ledger.models import Action, LedgerEntry, Outcome
from tokenadmin.revocation.jobs import job_counts, revocation_job_retry_failed, revocation_job_run
from tokenadmin.revocation.models import RevocationItem


def test_a_job_revokes_every_session_of_a_client_and_records_one_ledger_entry(kc, acting_as):
    kc.seed(realm="mlflow", users=40, sessions=300, clients=["mlflow"])
    job = client_job(acting_as("operator"), reason="client leaked")
    assert job.total == client_sessions_count(kc) >= 300

    revocation_job_run(job_id=job.pk)

    job.refresh_from_db()
    counts = job_counts(job)
    assert (counts.done, counts.already_gone, counts.failed) == (job.total, 0, 0)
    assert client_sessions_count(kc) == 0
    entry = LedgerEntry.objects.get(action=Action.CLIENT_SESSIONS_REVOKED)
    assert entry.actor_username == "operator"
    assert entry.after == {"revoked": job.total, "already_gone": 0, "failed": 0}
    assert job.ledger_entry_id == entry.pk


def test_a_job_run_again_after_finishing_changes_nothing(kc, acting_as):
    kc.seed(realm="mlflow", users=5, sessions=30, clients=["mlflow"])
    job = client_job(acting_as("operator"), reason="client leaked")
    revocation_job_run(job_id=job.pk)

    assert revocation_job_run(job_id=job.pk) is None
    assert LedgerEntry.objects.filter(action=Action.CLIENT_SESSIONS_REVOKED).count() == 1


def test_keycloak_faults_mid_job_are_retried_or_listed_with_why(kc, acting_as):
    kc.seed(realm="mlflow", users=20, sessions=200, clients=["mlflow"])
    job = client_job(acting_as("operator"), reason="client leaked")
    refused = list(job.items.order_by("pk").values_list("session_id", flat=True)[:3])
    # Transient: a third of deletes answer 500; permanent: three sessions answer 403.
    kc.fault(path=r"/sessions/", method="DELETE", status=500, error_rate=0.3)
    for session_id in refused:
        kc.fault(path=f"/sessions/{session_id}$", method="DELETE", status=403)

    revocation_job_run(job_id=job.pk)

    job.refresh_from_db()
    counts = job_counts(job)
    assert counts.pending == 0
    assert counts.done + counts.already_gone + counts.failed == job.total
    failed = RevocationItem.objects.filter(job=job, state=RevocationItem.State.FAILED)
    assert set(refused) <= set(failed.values_list("session_id", flat=True))
    assert all(item.error for item in failed)
    assert "403" in failed.get(session_id=refused[0]).error
    kc.clear_faults()
    assert client_sessions_count(kc) == failed.count()
    assert LedgerEntry.objects.get(target_id=str(job.pk)).outcome == Outcome.PARTIAL


def test_failed_items_can_be_tried_again_and_then_succeed(kc, acting_as):
    kc.seed(realm="mlflow", users=5, sessions=40, clients=["mlflow"])
    job = client_job(acting_as("operator"), reason="client leaked")
    kc.fault(path=r"/sessions/", method="DELETE", status=403, times=5)
    revocation_job_run(job_id=job.pk)
    assert job_counts(job).failed == 5

    assert revocation_job_retry_failed(job=job) == 5
    revocation_job_run(job_id=job.pk)

    counts = job_counts(job)
    assert (counts.failed, counts.pending, counts.done) == (0, 0, job.total)
    assert client_sessions_count(kc) == 0
    outcomes = LedgerEntry.objects.filter(target_id=str(job.pk)).values_list("outcome", flat=True)
    assert sorted(outcomes) == [Outcome.PARTIAL, Outcome.SUCCEEDED]


def test_dropped_connections_are_retried_on_a_fresh_connection(kc, acting_as):
    kc.seed(realm="mlflow", users=5, sessions=40, clients=["mlflow"])
    job = client_job(acting_as("operator"), reason="client leaked")
    kc.fault(path=r"/sessions/", method="DELETE", reset_connection=True, times=12)

    revocation_job_run(job_id=job.pk)

    counts = job_counts(job)
    assert (counts.done, counts.already_gone, counts.failed) == (job.total, 0, 0)
    assert client_sessions_count(kc) == 0
